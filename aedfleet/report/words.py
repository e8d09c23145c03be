"""The report's words in Chinese and English: headings, column names and phrases."""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["zh", "en"]

WORDS: Final[dict[str, tuple[str, str]]] = {
    "title": ("AED 柜月度就绪报告", "Monthly AED readiness report"),
    "fleet": ("全部区县", "all districts"),
    "generated": ("生成时间", "generated"),
    "summary": ("概要", "Summary"),
    "readiness_pct": ("就绪率（按时间加权）", "Readiness (time-weighted)"),
    "cabinets": ("AED 柜数量", "Cabinets"),
    "uses": ("紧急使用次数", "Uses (emergency openings)"),
    "alerts": ("告警次数", "Alerts"),
    "median_sms": ("开门到首条短信的中位时间", "Median time from opening to first SMS"),
    "below_target": ("就绪率低于 95% 的 AED 柜", "Cabinets ready less than 95 % of the month"),
    "expiring_count": ("90 天内到期的电极片和电池", "Pads and batteries expiring within 90 days"),
    "coverage": ("重点场所加权覆盖率", "Weighted coverage of key places"),
    "not_available": ("暂无数据", "not available"),
    "since_last": ("与上月相比", "Since last month"),
    "this_month": ("本月", "this month"),
    "last_month": ("上月", "last month"),
    "change": ("变化", "change"),
    "readiness": ("就绪情况", "Readiness"),
    "daily_chart": ("各区县每日就绪率", "Daily readiness by district"),
    "worst_shown": (
        "此处列出最差的 {} 个（共 {} 个）；HTML 版列出全部 AED 柜。",
        "The worst {} of {} are shown; the HTML version lists every cabinet.",
    ),
    "per_cabinet": ("各 AED 柜（最差在前）", "Per cabinet (worst first)"),
    "cabinet": ("AED 柜", "Cabinet"),
    "district": ("区县", "District"),
    "ready": ("就绪 %", "Ready %"),
    "offline_h": ("离线（小时）", "Offline h"),
    "in_use_h": ("使用中（小时）", "In use h"),
    "aed_missing": ("AED 缺失", "AED missing"),
    "expired": ("耗材过期", "Pads expired"),
    "temperature": ("温度", "Temp."),
    "power": ("供电", "Power"),
    "hours_note": (
        "离线、使用中及各原因（AED 缺失、耗材过期、温度、供电）未就绪时间的单位均为小时。",
        "Offline, in use and the not-ready time by cause (AED missing, pads expired, "
        "temperature, power) are in hours.",
    ),
    "uses_section": ("紧急使用", "Uses"),
    "opened": ("开门时间", "Opened"),
    "aed_out": ("AED 取出时长", "AED out"),
    "acknowledged": ("值班员确认", "Acknowledged"),
    "ready_again": ("恢复就绪", "Ready again"),
    "first_sms": ("首条短信", "First SMS"),
    "responders": ("通知志愿者人数", "Responders alerted"),
    "uses_map": ("使用地点", "Where uses happened"),
    "no_uses": ("本月无紧急使用。", "No emergency openings this month."),
    "alerts_section": ("告警", "Alerts"),
    "rule": ("规则", "Rule"),
    "severity": ("级别", "Severity"),
    "count": ("次数", "Count"),
    "ack_time": ("确认用时", "Time to acknowledge"),
    "resolve_time": ("解除用时", "Time to resolve"),
    "median": ("中位数", "median"),
    "p90": ("第 90 百分位", "90th percentile"),
    "repeat_offenders": ("多次告警的 AED 柜", "Repeat offenders"),
    "none": ("无", "none"),
    "maintenance": ("维护计划", "Maintenance ahead"),
    "expiring": (
        "未来 90 天内到期的电极片和 AED 电池（按区县）",
        "Pads and AED batteries expiring within 90 days (by district)",
    ),
    "what": ("项目", "Item"),
    "pads": ("电极片", "pads"),
    "battery": ("AED 电池", "AED battery"),
    "expires": ("到期日", "Expires"),
    "days_left": ("剩余天数", "Days left"),
    "expired_word": ("已过期", "expired"),
    "degrading": ("备用电池电压下降", "Degrading backup batteries"),
    "first_week": ("首周均值 V", "First week V"),
    "last_week": ("末周均值 V", "Last week V"),
    "data_quality": ("数据质量", "Data quality"),
    "gaps": ("遥测缺失的 AED 柜", "Cabinets with gaps in telemetry"),
    "messages": ("遥测条数", "Messages"),
    "fleet_median": ("全网中位数", "Fleet median"),
    "dead_letters": ("被拒消息（按原因）", "Dead letters by reason"),
    "reason": ("原因", "Reason"),
    "clock_skew": (
        "时钟未同步（按到达时间记录的事件）",
        "Clock not set (events stamped on arrival)",
    ),
    "events": ("事件数", "Events"),
    "unknown_hours": ("无状态数据的柜时（小时）", "Cabinet-hours without any state"),
    "weak": ("本报告数据的薄弱之处", "Where this report's figures are weak"),
    "weak_note": (
        "就绪率根据采集器记录的状态变化按时间加权计算；采集器停止期间的状态按最后已知状态计。",
        "Readiness is time-weighted from the state changes the collector recorded; while the "
        "collector was stopped, the last known state is assumed to hold.",
    ),
    "period": ("报告期", "period"),
    "local_time": ("北京时间", "China Standard Time"),
    "to": ("至", "to"),
    "lat": ("纬度", "latitude"),
    "lon": ("经度", "longitude"),
    "hours": ("小时", "h"),
    "minutes": ("分钟", "min"),
    "seconds": ("秒", "s"),
    "days": ("天", "days"),
}


# the alert catalogue's rules and severities, as the report names them
NAMES: Final[dict[str, tuple[str, str]]] = {
    "opened": ("开门/取用", "opened"),
    "aed_missing": ("AED 未归还或未补充", "AED missing"),
    "offline": ("离线", "offline"),
    "temperature": ("温度异常", "temperature"),
    "expired": ("耗材过期", "expired"),
    "expiring": ("耗材即将到期", "expiring"),
    "power": ("供电", "power"),
    "door_ajar": ("柜门未关", "door ajar"),
    "link": ("网络连接", "link"),
    "critical": ("紧急", "critical"),
    "high": ("高", "high"),
    "warning": ("警告", "warning"),
}


def name_of(code: str, lang: Lang) -> str:
    """A rule's or severity's name in the report's language (the code itself if unknown)."""
    pair = NAMES.get(code)
    return code if pair is None else pair[0 if lang == "zh" else 1]


def words(lang: Lang) -> dict[str, str]:
    index = 0 if lang == "zh" else 1
    return {key: pair[index] for key, pair in WORDS.items()}
