"""Calendar dates (Safe Harbor: every date element but the year). A year alone is left alone.

Numeric dates collide with fractions, strengths, ratios and vitals ("5/5 strength", "1/2 NS",
"pain 8/10", "BP 110/60"): only valid month/day pairs match, digits or decimals glued on either
side rule a match out, and veto words before it ("strength", "pain", "bp") or after it ("NS",
"strength") drop it. Small fractions (both parts at most 5), ordinals ("the 11th") and month
names alone ("in March") need a date word nearby ("on", "since", "in").
"""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTH_WORD = r"(?:january|february|march|april|june|july|august|september|sept|october|november|december)"
_M = r"(?:0?[1-9]|1[0-2])"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_Y = r"(?:(?:19|20)\d{2}|\d{2})"
# no digit, decimal point or slash glued on either side ("7.39/43/1"), no time ("1:20")
_L = r"(?<![\d./+])(?<!\d-)(?<!\d:)"
_R = r"(?![\d/%]|\.\d|:\d)"

_VETO = frozenset("""
strength motor grip power reflexes reflex pain score scale ratio gcs bp abp nbp sbp dbp pap pas
cvp map art cuff peep ps fio fio2 ie dilution pupils pupil mm brisk sluggish tidal murmur grade
cpap psv ips ipap epap bipap simv imv vent ventilator settings support rated
""".split())
_VETO_AFTER = frozenset("""strength strenght ns scale lobes lobe ratio mmhg of murmur peep ips
psv cpap ps pain step cm""".split())
_PAIN = frozenset("""pain cp discomfort rated rates rating score level ha headache c o complains
complaining back chest abd abdominal incisional ache""".split())
_DATE_WORDS = frozenset("""
on since from until till through dated date admitted admit admission discharged started
begun began placed changed done last next due seen extubated intubated reintubated transferred
surgery post s p dc d c dc'd c'd dcd dced dc'ed adm repeat drawn sent day pod as by in
""".split()) | frozenset("""monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu
thur thurs fri sat sun""".split())  # "tues 2/3": a weekday names the day that follows
# Shorthand dates written month-day with a dash: "s/p fall 4-19". Ranges ("2-4 L", "7-3 shift",
# "HR 80-90") look alike, so a date word must come just before and no unit or count just after.
_DASH_VETO_AFTER = frozenset("""l lpm liter liters litre mg mcg ml cc g gm units unit u meq mmol
hr hrs hour hours h min mins minute minutes day days d wk wks week weeks mo month months yr yrs
year years times x tabs tab pills puffs beats bpm shift shifts am pm pounds lbs lb kg cm mm in
inches ft feet percent floor floors blocks drinks ppd pack packs sec secs seconds of to or and
""".split())
_VITALS = frozenset("hr rr pcwp pad pas cvp temp sats sat spo2 t k mg ci co svr svo2 ph".split())
# only words that put an event on a day come before a dashed date ("since", "s/p"; not "until",
# "due", "at": those come before ranges and times too)
_DASH_DATE_WORDS = frozenset("""on since s p dc d c dc'd c'd dcd dced dc'ed dated admitted admit adm
discharged extubated intubated reintubated started placed surgery seen monday tuesday wednesday
thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun""".split())


class ClinicalDateRecognizer(ContextPatternRecognizer):
    ENTITY = "DATE"
    NAME = "ClinicalDateRecognizer"
    PATTERNS = (
        NamedPattern("month_day_year", rf"{_L}(?P<v>{_M}/{_D}/{_Y}){_R}", 0.9),
        NamedPattern("month_day_year_dash", rf"{_L}(?P<v>{_M}-{_D}-{_Y}){_R}", 0.85),
        NamedPattern("iso", rf"(?<!\d)(?P<v>(?:19|20)\d{{2}}[-/.]{_M}[-/.]{_D})(?!\d)", 0.9),
        NamedPattern("month_day", rf"{_L}(?P<v>(?:1[0-2]|0?[6-9])/(?!10\b){_D}|0?[1-5]/(?:0?[6-9]|1[1-9]|2\d|3[01])){_R}",
                     0.6, context=_DATE_WORDS, veto=_VETO, veto_after=_VETO_AFTER, window=(2, 1)),
        # a night shift's two days: "3/14-3/15", "11/30-12/1", "12/24-25" (not "1/3-1/2": fractions)
        NamedPattern("month_day_range", rf"{_L}(?![1-5]/[1-5]-)(?P<v>{_M}/{_D}-(?:{_M}/)?{_D}){_R}", 0.7, veto=_VETO,
                     veto_after=_VETO_AFTER | _PAIN, window=(2, 1)),
        NamedPattern("dotted_date", rf"(?<![\d.])(?P<v>{_M}\.{_D}\.{_Y})(?![\d.]\d?)", 0.6, veto=_VETO, window=(2, 0)),
        NamedPattern("month_day_dash", rf"(?<![\w./:-])(?P<v>{_M}-{_D})(?=[ \t]{{0,2}}(?:[.,;:)\n]|$)|"
                     r"[ \t]{1,2}(?i:at|to|with|w|and|for|in|on|from|when|after|s/p|pt|when)\b)", 0.1,
                     context=_DASH_DATE_WORDS, veto=_VETO | _VITALS, veto_after=_VETO_AFTER | _DASH_VETO_AFTER,
                     window=(2, 1)),
        NamedPattern("month_zero_day", rf"{_L}(?P<v>{_M}/0[1-9]){_R}", 0.6, veto=_VETO,
                     veto_after=_VETO_AFTER, window=(2, 1)),
        # "x/10" is a pain score after pain words, a date elsewhere
        NamedPattern("month_ten", rf"{_L}(?P<v>{_M}/10){_R}", 0.5, veto=_VETO | _PAIN,
                     veto_after=_VETO_AFTER | _PAIN, window=(3, 2)),
        # both parts <= 5 is more often a fraction or a strength than a date
        NamedPattern("small_month_day", rf"{_L}(?P<v>[1-5]/[1-5]){_R}", 0.1,
                     context=_DATE_WORDS - {"in", "by", "as"}, veto=_VETO, veto_after=_VETO_AFTER,
                     window=(2, 1)),
        # month/two-digit year after 1931: no blood pressure or fraction looks like "8/87"
        NamedPattern("month_year", rf"{_L}(?P<v>{_M}/(?:19|20)?(?:3[2-9]|[4-9]\d)){_R}", 0.5,
                     veto=_VETO, veto_after=_VETO_AFTER, window=(2, 1)),
        NamedPattern("month_name_day", rf"(?P<v>\b{_MONTH}\.?\s{{1,2}}{_D}(?:st|nd|rd|th)?(?:,?\s{{1,2}}{_Y})?)\b",
                     0.85, flags=2),
        NamedPattern("day_month_name", rf"(?P<v>\b{_D}(?:st|nd|rd|th)?\s{{1,2}}(?:of\s)?{_MONTH}\.?(?:,?\s{{1,2}}{_Y})?)\b",
                     0.85, flags=2),
        NamedPattern("month_name_year", rf"(?P<v>\b{_MONTH}\.?,?\s{{1,2}}(?:19|20)\d{{2}})\b", 0.85, flags=2),
        NamedPattern("day_mon_year", rf"(?P<v>\b{_D}-{_MONTH}-{_Y})\b", 0.9, flags=2),
        NamedPattern("month_alone", rf"(?P<v>\b{_MONTH_WORD})\b", 0.1, flags=2,
                     context=frozenset("in of since during early late mid last this next until from by".split()),
                     window=(2, 0)),
        NamedPattern("ordinal_day", r"(?P<v>\b(?:[12]?1st|[12]?2nd|[12]?3rd|(?:[12]?[4-9]|1[0-3]|20|30)th|31st))\b",
                     0.1, flags=2, context=frozenset("on the since from until of".split()),
                     veto_after=frozenset("""rib ribs ics intercostal floor grade nerve toe finger digit
                     cranial percentile time times degree generation dose day days week weeks month
                     months year years attempt try cycle round hour hours lumbar thoracic cervical
                     vertebra percent step of line unit bag""".split()), window=(2, 1)),
    )
