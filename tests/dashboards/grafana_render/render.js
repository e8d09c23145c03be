'use strict';
/*
 * A panel's data as Grafana draws it, by Grafana's own code (@grafana/data, pinned in
 * package-lock.json): the panel's transformations (transformDataFrame with Grafana's standard
 * transformers), its field config and overrides (applyFieldOverrides: display names, units,
 * value mappings, thresholds) and, for a stat panel, its reducer and field selection
 * (getFieldDisplayValues). Grafana's app registers the standard field-config properties from
 * outside @grafana/data; the few this project's boards use are registered below the same way
 * (an id and the path it sets); and a column's header is read as its display name after the
 * overrides. Those are the parts here that imitate Grafana.
 *
 * stdin: {"panel": <panel JSON>, "frames": [{"refId", "name", "fields": [{"name", "type",
 *         "values", "labels"}]}]}
 * stdout: {"frames": [{"fields": [{"name", "displayName", "values", "text"}]}],
 *          "stat": [{"title", "text", "numeric"}]}   (stat only for stat panels)
 */
// the browser globals @grafana/data reads: window.grafanaBootData (absent: defaults) at import,
// navigator.languages for the local date format (Node 20 has no navigator)
globalThis.window = globalThis;
if (!globalThis.navigator) globalThis.navigator = { language: 'en-US', languages: ['en-US'] };
const g = require('@grafana/data');
const { firstValueFrom } = require('rxjs');

// as Grafana's app registers them (some transformers are exported twice under two names)
g.standardTransformersRegistry.setInit(() => {
  const byId = new Map(Object.values(g.standardTransformers).map((t) => [t.id, t]));
  return [...byId.values()].map((t) => ({
    id: t.id, aliasIds: t.aliasIds, name: t.name, transformation: t,
  }));
});

const identity = (value) => value;
const property = (id, path) => ({
  id, path: path || id, name: id, process: identity, shouldApply: () => true, override: null,
  editor: null,
});
const fieldConfigRegistry = new g.FieldConfigOptionsRegistry(() => [
  property('displayName'), property('unit'), property('mappings'), property('thresholds'),
  property('links'), property('noValue'), property('color'), property('decimals'),
  property('min'), property('max'),
  { ...property('custom.cellOptions', 'cellOptions'), isCustom: true },
  { ...property('custom.thresholdsStyle', 'thresholdsStyle'), isCustom: true },
]);

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { panel, frames } = JSON.parse(input);
  const theme = g.createTheme();
  const data = frames.map((frame) => g.createDataFrame(frame));
  const transformed = await firstValueFrom(
    g.transformDataFrame(panel.transformations || [], data),
  );
  const styled = g.applyFieldOverrides({
    data: transformed,
    fieldConfig: panel.fieldConfig,
    fieldConfigRegistry,
    replaceVariables: identity,
    theme,
    timeZone: 'utc',
  });
  // a column's header is its display name after the overrides (the name cached while the
  // transformations ran predates the displayName override)
  for (const frame of styled) for (const field of frame.fields) field.state.displayName = null;
  const out = {
    frames: styled.map((frame) => ({
      fields: frame.fields.map((field) => ({
        name: field.name,
        displayName: g.getFieldDisplayName(field, frame, styled),
        values: Array.from(field.values),
        text: Array.from(field.values).map((v) => g.formattedValueToString(field.display(v))),
      })),
    })),
  };
  if (panel.type === 'stat') {
    const shown = g.getFieldDisplayValues({
      data: styled,
      reduceOptions: panel.options.reduceOptions,
      fieldConfig: panel.fieldConfig,
      fieldConfigRegistry,
      replaceVariables: identity,
      theme,
      timeZone: 'utc',
    });
    out.stat = shown.map((f) => ({
      title: f.display.title, text: f.display.text, numeric: f.display.numeric,
    }));
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
