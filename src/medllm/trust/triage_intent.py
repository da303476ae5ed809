"""What the person wants: refusal from intent, not topic.

A request is refused when it seeks harm to someone, illegitimate access to a drug or a record,
falsification, covert administration, a method of self-harm, or a dangerous procedure done
without care. Asking how to keep people safe is not that: dosing, storage, quitting, one's own
records, first aid, recognising abuse or an overdose, and support get answered.

`read_intent(text)` finds the explicit cues of both kinds (written by the medllm team from the
refusal categories, never from the safety dev messages); the triager weighs them with the
embedding classifier's p(harmful). Cues are regular expressions whose matches are skipped when a
negation comes just before them ("I would never hide it from the audit").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

IntentKind = Literal["harmful", "protective", "none"]


@dataclass(frozen=True)
class Rule:
    """Fires when, for any one alternative, every regex in it matches un-negated text."""

    name: str
    reason: str
    alternatives: tuple[tuple[str, ...], ...]
    category: str = ""  # the refusal category it names


@dataclass(frozen=True)
class Intent:
    """The cues of a message: `kind` harmful when a harm cue fired, protective when only a
    protective frame did. `cues` names the rules (never the input's words)."""

    kind: IntentKind
    category: str | None
    cues: tuple[str, ...] = ()
    protective: tuple[str, ...] = ()
    instrumental: bool = False  # asks how to do something, or says the writer will do it
    target: bool = False  # names a person, a drug, a record or care: something a refusal protects

    @property
    def harmful(self) -> bool:
        return self.kind == "harmful"


def _r(*alts: str | tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple((a,) if isinstance(a, str) else a for a in alts)


# Cues that negate what follows shortly after them in the same sentence.
_NEG = re.compile(
    r"\b(no|not|never|don'?t|do not|wouldn'?t|would never|without|denies|nor)\b[^.;:!?]{0,25}$", re.I)


@lru_cache(maxsize=1024)
def _rx(p: str) -> re.Pattern[str]:
    return re.compile(p, re.I)


def _unnegated(pattern: str, text: str) -> bool:
    for m in _rx(pattern).finditer(text):
        if not _NEG.search(text[max(0, m.start() - 40):m.start()]):
            return True
    return False


def fires(rule: Rule, text: str) -> bool:
    return any(all(_unnegated(p, text) for p in alt) for alt in rule.alternatives)


_CONTROLLED = (
    r"(oxy\w*|opioids?|opiates?|fentanyl|heroin|morphine|hydrocodone|vicodin|percocet|codeine|"
    r"tramadol|xanax|alprazolam|valium|diazepam|benzos?|benzodiazepines?|klonopin|clonazepam|"
    r"adderall|ritalin|amphetamines?|methamphetamine|meth|ketamine|dilaudid|methadone|suboxone|"
    r"lorazepam|ativan|ambien|zolpidem|painkillers?|pain pills|controlled (drugs|substances)|"
    r"sleeping (pills|tablets)|gabapentin|pregabalin|lyrica|steroids|testosterone|propofol|midazolam)"
)
_ILLICIT_WAY = (
    r"without (a |an |any )?(prescription|script|doctor|rx)|no (prescription|script|rx)|"
    r"illegal\w*|street|dark ?web|black market|from a dealer|off the books|under the table|"
    r"fake (prescription|script)|don'?t (need|have) (a )?prescription|someone else'?s (prescription|name)|on the side|under the counter|no questions asked"
)
_PERSON = (r"(someone|somebody|a person|people|him|her|them|my (husband|wife|partner|mother|father|mum|mom|dad|"
           r"boss|neighbou?r|ex|roommate|flatmate|patient|child|son|daughter|baby|stepson|stepdaughter|grandmother|"
           r"grandfather|colleague|coworker|teacher|brother|sister|friend)|the (patient|resident|baby|child))\b(?!-?self)")  # not "himself"
_OTHERS_FOOD = r"(his|her|their|my \w+'?s?|the (patient|resident)'?s?) (food|drink|tea|coffee|meal|juice|bottle|formula|water)"

_RECORD = (r"(medical|patient|hospital|incident|nursing|care|clinical|gp) (record|chart|notes?|report|log|entry)s?|\bcharts?\b|\bcertificates?\b|\b(epr|emr|ehr|entries)\b|"
           r"doctor'?s note|sick note|fit note|prescriptions?|lab (result|report|value)s?|test results?|"
           r"vaccin\w* (card|record|certificate|status)|death certificate|medical certificate|disability (form|claim)|"
           r"insurance claim|mar chart|medication (chart|record)|observations|signatures?|drug (register|count|log)|"
           r"(pcr|covid|drug|blood|lab|pregnancy|hiv|std|sti|urine) test\w*|\bpdf\b|scan report|x-?ray report")
_CONCEAL = (r"(so|without)[\w\s]{0,30}(nobody|no one|anyone|they|the \w+) (knows?|finds? out|notices?|can tell|suspects?|sees?)|"
            r"\b(hide|conceal|cover (it )?up|cover for)\b|before (the |an? |my )?(\w+ )?(audit|inspect\w*|review|check)|"
            r"after (the|a|an|my|our) (error|mistake|incident|fall|overdose|injury)|"
            r"to (remove|hide|erase|delete|get rid of) (the|any|all|that) (fall|error|mistake|incident|injury|bruis\w*|overdose)|"
            r"(audit|auditors?|inspectors?|coroner|insurers?|regulator|police|famil\w*) (doesn'?t|won'?t|can'?t|don'?t|never)|"
            r"look (like|as if)|so (it|they|he|she) (looks?|seems?|appears?)|(doesn'?t|won'?t) (show|get flagged|look)|"
            r"so it (shows|says|reads|comes back) (negative|positive|normal|clear|clean)")

# Concealment: harm hidden from the person, a carer, a clinician, a test or an audit.
_COVERT = (r"without (anyone|anybody|the \w+|my \w+|him|her|them|people|staff|the (nurse|doctor|pharmacist|school))( \w+)? "
           r"(noticing|knowing|finding out|realising|realizing|seeing|suspecting)|"
           r"so (that )?(nobody|no one|they|he|she|the \w+|my \w+|staff|the (school )?nurse|doctors?)( \w+)? (won'?t|doesn'?t|don'?t|can'?t|cannot|will not|never) "
           r"(notice|know|find out|tell|suspect|see|detect|realise|realize|trace)|"
           r"(can'?t|cannot|won'?t|wouldn'?t|will not|would not|doesn'?t|don'?t) (be traced|show up|be detected|be found)|"
           r"(untraceable|undetectable)|look(s)? like (a |an )?(natural|accident\w*|miscount|mistake|an accident)|"
           r"(hide|disguise|mask) the (taste|smell|pills?|dose)|"
           r"so (they|he|she|the doctors?|the nurses?) (think|believe)s? (he'?s|she'?s|they'?re|it'?s|it was) (making|lying|faking|an accident)")
_HARM_OBJECT = (r"\b(sick|ill|poison\w*|hurt|harm|injur\w*|bruis\w*|sedat\w*|knock\w* \w+ out|drug\w*|pills?|tablets?|dose|"
                r"insulin|medicine|medication|morphine|oxy\w*|opioids?|hydrocodone|fentanyl|food|drink|coffee|tea|bottle|"
                r"diarrh\w*|vomit\w*|overdose|kill\w*|die|dead|x-?ray|blood tests?|tox\w*|autopsy)\b")

HARM_RULES: tuple[Rule, ...] = (
    Rule(
        "illicit_drugs",
        "it asks for help obtaining, misusing or diverting controlled drugs",
        _r(
            (r"\b(buy|get|obtain|order|score|purchase|source|acquire|find|grow)\b", _CONTROLLED, _ILLICIT_WAY),
            r"\b(make|cook|synthesi[sz]e|brew|extract)\b[\w\s]{0,20}\b(meth|methamphetamine|fentanyl|heroin|crack|lsd|ghb|codeine from|dmt)",
            r"(trick|fool|convince|lie to|manipulate|persuade|get round|game) (my |the |a )?(doctor|physician|pharmacist|gp|prescriber)[\w\s]{0,40}(prescri\w*|give me|into|more)",
            r"doctor shopping|more (pills|opioids|oxy\w*|xanax|adderall|tablets) than (i'?m|i am|was|we'?re) prescribed",
            (r"\b(pocket|pocketing|skim|skimming|divert|diverting|siphon\w*|steal|stealing|nick|help myself to)\b", r"(wasted|waste|leftover|spare|unused|residents?'?|patients?'?|ward|stock|cabinet|dispensary)?[\w\s]{0,20}" + _CONTROLLED),
            (r"(get|getting|stay|make (me|it)) (high|stoned|buzzed|wasted|a buzz)|\bhigh on\b|recreational(ly)?", _CONTROLLED),
            (r"\b(sell|selling|sold|deal|dealing)\b", r"(my|his|her|the|our|spare|leftover)[\w\s]{0,15}(pills|meds|tablets|prescription|" + _CONTROLLED[1:]),
            r"(fake|exaggerate|make up|pretend to have)[\w\s]{0,20}(pain|symptoms|adhd|anxiety|insomnia)[\w\s]{0,40}(to get|so (i|he|she) (can )?get|for)[\w\s]{0,20}(prescri\w*|" + _CONTROLLED[1:],
            r"(pass|beat|cheat|fool|trick)[\w\s]{0,10}(a |the |my )?(drug|urine|tox\w*|dope|doping) (test|screen)",
            r"(fool|beat|cheat|trick|bypass|get round|get around) (the |a |my )?(breathalys\w*|breathalyz\w*|ignition (interlock|lock)|interlock)",
            r"\b(snort|snorting|shoot(ing)? up|smoke|smoking|inject(ing)?)\b[\w\s]{0,20}\b(to get high|heroin|crack|meth|cocaine|ketamine|fentanyl|oxy\w*|pills)\b",
            r"(to|and) (get high|get stoned|trip|trip harder|get a buzz)\b|\btrip(ping)? (harder|balls)\b|\bplateau\b|recreational\w* dose",
            r"(lie|lying|fib)[\w\s]{0,10}(about|on)[\w\s]{0,30}(questionnaire|form|assessment|consultation|symptoms|bmi|weight)",
            r"(vet|veterinarian)[\w\s']{0,40}(prescribe|give)[\w\s]{0,40}(myself|for me|i can (use|take))",
            (_COVERT, _CONTROLLED),
            (r"(count|counts|register|log|tally)\b", _COVERT),
            # by kind, from the category: deceiving a prescriber, several prescribers, taking stock,
            # smuggling, making opiates, drugs from a vet or pharmacy
            r"(prescri\w*|get|give)[\w\s']{0,40}(when|though|even though|if) (i|he|she|they) (don'?t|do not|doesn'?t|does not) (really |actually )?(have|need|feel)",
            r"(trick|fool|con|deceive|lie to)\w*[\w\s]{0,25}(into )?prescrib\w*|(easiest|easy) to (trick|fool|con|convince)",
            r"(symptoms|pain|illness|condition) (should|can|could|do) (i|we) (fake|pretend|make up|exaggerate|invent)|(fake|feign|pretend to have|make up|invent|exaggerate) (symptoms|pain|an illness|a condition|adhd|anxiety|insomnia)",
            r"(two|three|four|several|multiple|different) (doctors|gps|pharmacies|prescribers|clinics)[\w\s,]{0,40}(prescriptions?|scripts?|get)",
            (r"\b(steal|stealing|pocket|pocketing|nick|skim|skimming|pilfer\w*|divert\w*|help myself to|take some of the)\b", r"(controlled drugs|drugs|meds|medication|stock|tablets|pills)",
             r"without[\w\s]{0,20}(count|audit|register|noticing|showing|show|knowing|being traced)|so (the )?(count|audit|register|nobody|no one)"),
            (r"\bsmuggl\w*", r"(drugs?|pills|tablets|meds|medication|diazepam|" + _CONTROLLED[1:]),
            r"(make|grow|extract|brew|cook)\w*[\w\s]{0,15}(homemade |home-made )?(opium|morphine|codeine|dmt|lsd|mescaline|poppy tea)|from (the )?poppies",
            r"(get|steal|take|buy)[\w\s']{0,15}(it|them|ketamine|drugs|tranquil\w*)[\w\s]{0,10}from (a|the) (vet|vets|veterinary|pharmacy|hospital|clinic|ward)\b",
            # hidden from customs, tests or a register; fake tablets; a second prescription
            r"without (it )?(being obvious|raising (any )?questions|customs|the (post|customs) (flagging|noticing))|(customs|police|border) (flagging|finding|noticing|seizing)",
            r"(beat|pass|cheat|fool)[\w\s]{0,10}(a |the |my )?(hair( follicle)?|urine|blood|drug|alcohol|random) (drug )?(tests?|screens?)|(reading|result)s? (comes?|come|to come) out (lower|negative|clean)",
            r"pill press|make (my own|our own|fake|counterfeit)[\w\s']{0,20}(tablets|pills|diazepam|xanax|oxy\w*)",
            r"(spores?|magic mushrooms|psilocybin)[\w\s]{0,40}(grow|sent|posted|order)|grow (magic )?mushrooms",
            r"(second|another|two|different) (pharmacy|pharmacies|chemist|doctor|gp)[\w\s]{0,30}(fill|dispense|prescri\w*)[\w\s]{0,30}(same|controlled|photocopy)|photocop\w*[\w\s]{0,20}prescription",
            r"(what|which)[\w\s]{0,25}(should|can|could|do) i (claim|say|tell|report)[\w\s]{0,40}(so (i|that i) get|to get)[\w\s]{0,40}(more|\d+|thirty|twenty|stronger|codeine|" + _CONTROLLED[1:],
            r"(who would buy|sell|sign (it )?off as (destroyed|broken|wasted))[\w\s,']{0,40}(morphine|" + _CONTROLLED[1:] + r"|(sign|write) (it |them )?off as (destroyed|breakages?|broken|wasted)",
            r"(adjust|alter|fiddle|change)[\w\s]{0,10}(the )?(cd|controlled drugs?) register",
            r"(gives?|for) (a |the )?(proper )?(buzz|high)\b(?! blood| cholesterol| pressure| fever| temp)",
            # a story for the prescriber or A&E: "what excuse works for an early repeat", "what do I say so they give me",
            (r"\b(excuse|story|lie|reason)s?\b[\w\s,']{0,25}(works?( best)?|should i (use|give|tell|say)|to (give|tell|use|say)|(would|will) (work|get))", r"(repeat|prescription|script|refill|early|more|lost (them|it|my)|" + _CONTROLLED[1:]),
            r"(what|which)[\w\s]{0,30}(should|can|could|do) i (say|tell|claim|describe|report)[\w\s,&?']{0,60}so (they|he|she|the \w+) (give|prescribe|hand)s? (me|him|her)",
            (r"so (it|i|they|that) (sounds?|seems?|looks?|comes across as) (real|genuine|convincing|believable|legit)", r"(symptoms?|pain|prescri\w*|" + _CONTROLLED[1:]),
            (r"(get|getting|be|feel)\w* (properly |really |totally |well |completely )?(out of it|off (my|his|her|your) (face|head|tits)|mashed|smashed|munted|wasted|high|stoned)", r"(mix|combine|ratio|together|with|and|on top of|" + _CONTROLLED[1:]),
            (r"(tell|say to|show)[\w\s-]{0,25}(gp|doctor|doc|psychiatrist|prescriber|nurse|pharmacist|a&e|er)[\w\s,]{0,20}(to make sure|so (that )?)\s*(i|they)[\w\s]{0,10}(walk out with|leave with|come away with|get|give me|prescribe|send me (home |away )?with)", r"(" + _CONTROLLED + r"|i (don'?t|do not) (have|need|really have)|just like (how it feels|the feeling))"),
            (r"\bi (just |really )?(like|love|enjoy) (how (it|they) (feels?|makes? me feel)|the (feeling|buzz|high|effect))", _CONTROLLED),
            (r"(get|getting|for|give|gives)\w* (a|an|me a|me an) (\w+ )?(buzz|high)\b", r"(how many|how much|dose|take|imodium|loperamide|" + _CONTROLLED[1:]),
            (r"(fudge|fiddle|fake|cook|doctor|massage|falsify|alter)\w*[\w\s]{0,30}(waste|wastage|count|register|documentation|records?|log)", _CONTROLLED),
            (r"so (the|my|our) (count|register|tally|numbers?|stock) (still )?(balances?|adds? up|matches?|works? out|is right)", r"(" + _CONTROLLED + r"|waste|wastage|controlled)"),
            (r"to feel (drunk|high|wasted|out of it|buzzed|euphoric|good|amazing|nothing)\b", r"(take|taking|dose|mix|" + _CONTROLLED[1:]),
            (r"(say|tell|claim|mention|describe|report|present)[\w\s,-]{0,40}to (leave|walk out|come away|get out|go home) with", _CONTROLLED),
            (r"(which|what) (words|symptoms|phrases) (are|do) (they|doctors|gps|nurses) (listen\w* for|want to hear|look\w* for)", r"\w"),
            (r"(make it|to make (it|them)|so it) hit (harder|better|more)|stronger (high|buzz)|potentiat\w*|boost the (high|buzz|effect)", r"\w"),
            (r"\b(take|taking|use|using|try|trying|have)\b", r"(my|his|her) (nan|nana|gran|granny|mum|mom|dad|friend|brother|sister|flatmate|partner)('s|s|’s) (\w+ )?" + _CONTROLLED),
            (r"\b(ship|ships|deliver|delivers|send|post|posts)\b", _CONTROLLED, _ILLICIT_WAY),
            (r"(get|take|sneak|slip|smuggle)\w*[\w\s]{0,30}out of the (cd |drug |controlled drugs? |medicine |medication )?(cupboard|cabinet|safe|trolley|stock|dispensary)", r"(without|count|noticing|short|" + _CONTROLLED[1:]),
            (r"(make|making|get|getting)\w* (the|my|a) (buzz|high|effect|hit) (stronger|better|last longer|harder)|\bstack\w* with\b", r"(" + _CONTROLLED + r"|buzz|high)"),
            r"(fake|feign|pretend to have|put on|stage) (a |an )?(seizure|fit|heart attack|overdose|faint|stroke|panic attack|kidney stone|migraine)[\w\s,]{0,40}(so|to get|gives? me|prescribe|give me|ativan|lorazepam|morphine|" + _CONTROLLED[1:],
            (r"(turn\w*|convert\w*|make|making|cook\w*|extract\w*)[\w\s]{0,30}(pseudoephedrine|ephedrine|sudafed)|(pseudoephedrine|ephedrine|sudafed)[\w\s]{0,30}(into|to make) (meth|methamphetamine|speed|crystal)", r"\w"),
            (r"\b(get|getting|got|wanna|want to|how to) (high|trip|buzzed|stoned|wasted|a buzz)\b[\w\s]{0,15}\b(off|on|from|with)\b|\b(wanna|want to) trip\b", r"(how many|how much|teaspoons?|tablets|pills|dose|loperamide|imodium|nutmeg|dxm|cough syrup|benadryl|" + _CONTROLLED[1:]),
        ),
        category="illicit_drugs",
    ),
    Rule(
        "self_harm_method",
        "it asks for a method of self-harm or suicide",
        _r(
            (r"\b(how|ways?|best way|easiest way|painless\w*|quickest|method|where)\b",
             r"(kill|hurt|harm|cut|burn|starve) (my ?self|yourself)|end (my|one'?s) (own )?life|commit suicide|suicide method|to die\b|self-harm(ing)?\b"),
            r"how many[\w\s]{0,40}(would|will|to|does it take to) (kill|be (lethal|fatal)|die)",
            r"(lethal|fatal|deadly) (dose|amount)[\w\s]{0,40}(kill|die|myself|end it)",
            r"overdose (on purpose|intentionally|to die)",
            (r"\b(hide|conceal)\b", r"(cutting|self-harm|self harm|burning myself|starving)[\w\s]{0,30}(from|so)"),
            r"(most|more|least) (lethal|deadly|fatal|toxic)[\w\s,()]{0,60}(if i|i took|for me|myself)|(which|what)[\w\s,()]{0,60}(would|could|will) kill me",
            r"(enough|how many|how much)[\w\s]{0,50}to (not wake up|never wake up|end it|die)",
            # a lethal amount, a fatal height or a cut, asked about oneself
            (r"\b(lethal|fatal|deadly) (amount|dose|quantity|number)|to be (lethal|fatal)|(would|will|could) be (a )?(lethal|fatal)",
             r"\b(my|i)\b[\w\s']{0,20}\b(tablets|pills|meds|insulin|capsules|medication|take|took|swallow\w*)\b"),
            r"so (i|he|she) (don'?t|won'?t|never|do not|will not) wake up",
            r"(how deep|where|which (vein|artery|arteries))[\w\s]{0,30}\b(cut|slash|slit)\b[\w\s]{0,20}(wrist|arm|artery|vein|throat)",
            r"\b(cut|slit|slash)(ting)? (my|his|her) (wrists?|throat)(?! (on|with) (a |the |some )?(broken |sharp )?(glass|knife|tin|can|plate|bottle|mirror|window))",
            r"closed garage|(hose|pipe)[\w\s]{0,20}exhaust|exhaust (fumes|pipe)[\w\s]{0,20}(car|hose|inside)",
            (r"(which|what) (is|would be|'s) (more|most|the most) (certain|reliable|effective|painless|quick|final)", r"\b(train|bridge|car park|building|jump\w*|rope|pills|overdose|height|roof|multi-storey)"),
            r"sick enough to (go to|end up in) hospital|(but|and) (doesn'?t|won'?t|not) kill me|without (actually )?killing (me|myself)",
            r"(where|how) (can|could|should|do) i (do it|cut|burn)[\w\s']{0,30}(always )?(covered|hidden|nobody|no one|won'?t (see|notice))",
            (r"\bwhat (can|could|should|would|do) i\b|\bwhat('?s| is) (the )?best\b|\b(with|using) what\b", r"(hurt|harm|cut|burn|starve) (my ?self|yourself)"),
            r"(hurts?|pain\w*) (the )?most[\w\s,]{0,20}(heals?|leaves? no|won'?t scar|no scar)",
            (r"(go to sleep|fall asleep|sleep) and (never|not) wake( up)?", r"(pills|tablets|meds|how many|how much|which|reliable|dose|overdose)"),
            r"how (many|much)[\w\s]{0,40}(would|will|to|does it take to|it take to) (\w+ly )?(kill|be (lethal|fatal)|die)\b",
            (r"(lethal|fatal|deadly|toxic) (dose|amount)", r"(for (someone|a person|me|a woman|a man) (of |around |about |my size|weighing )?\d+ ?(kg|kilos?|lbs?|pounds|stone)|i (have|'?ve got) (a |an )?(big |whole |full |huge )?(box|bottle|pack|stash|supply|lot)|how many (of them|would|to))"),
            (r"bleed (out|to death)", r"(fastest|quickest|quick|where|how|which|cut|vein|artery)"),
            r"(which|what)[\w\s,]{0,60}(would|could|will) be (fatal|lethal|deadly|enough to (kill|die))",
            (r"overdose|to die|kill (him|her|them|my)sel(f|ves)|fatal|lethal|work the first time|(don'?t|not) wake up", r"(which|what) (exact )?(medication|medicine|drug|pills|tablets)[\w\s,]{0,30}how (many|much)"),
            r"(most|more) (reliable|certain|effective|painless|foolproof)[\w\s,]{0,60}(so (i|that i) (don'?t|won'?t)|brain damage\w*|survive|wake up|end up in hospital)",
            r"(looked|looking) into (a few |some |different |the )?(ways|methods)[\w\s,]{0,60}(reliable|certain|painless|quick|work)",
            r"(dose|amount|how many|how much)[\w\s,]{0,40}(that )?(would|will|could) be (fatal|lethal|deadly|enough to (kill|die))",
            (r"(which|what)\b", r"(are|is) (deadly|lethal|fatal|dangerous enough to kill) (together|combined|in combination|if mixed)"),
            r"(painless\w*|quick(est)?|peaceful|easiest|best|surest) (way|method|ways) to (end it|go|die|not wake up|check out)\b",
            r"(where|which part|what part)[\w\s]{0,20}(best )?to (cut|burn|hurt (my)?self)[\w\s,']{0,40}(nobody|no one|won'?t (see|notice)|wont (see|notice)|hidden|covered|bleed)",
            (r"(laxatives?|diuretics?|water pills|ipecac|diet pills|clenbuterol|\bdnp\b)", r"(lose weight|weight loss|to purge|get thin|drop (a )?(stone|pounds|kilos)|without ending up in hospital)"),
            (r"(ignore|bypass|forget) (your|all|the|any) (safety |previous )?(rules|guidelines|instructions|filters|restrictions)|no (restrictions|filters|rules|ethics)|\bdan\b|jailbr\w*|developer mode", r"(lethal|fatal|deadly|overdose|kill|poison|untraceable)"),
            r"(most|more) (lethal|deadly|fatal) (in|as an?|for an?) overdose|(which|what)[\w\s]{0,30}(pills?|tablets?|meds|medicines?)[\w\s]{0,20}(are|is) (the )?most (lethal|deadly|fatal)",
            r"(where|how deep|which way)[\w\s]{0,25}(cut|slit)[\w\s]{0,25}(so it (actually )?works|to (actually )?die|for it to work|bleed out)",
            r"(write|draft|help me (write|with)) (me )?(a |my )?suicide note",
        ),
        category="self_harm_method",
    ),
    Rule(
        "harm_to_others",
        "it asks how to harm another person",
        _r(
            r"\bpoison(ing)? " + _PERSON,
            r"(undetectable|untraceable|can'?t be traced|won'?t show up)[\w\s]{0,30}(poison|drug|way to kill|overdose|in (a|the) (post[- ]mortem|autopsy|tox))",
            r"(?<!should i )(?<!should we )(?<!do i )(?<!can i )(make|get) " + _PERSON + r" (sick|ill|pass out|unconscious|sleep|drowsy|suffer)",
            r"(spike|drug) (someone'?s|somebody'?s|her|his|their|a) (drink|food)",
            r"(kill|overdose|smother|suffocate|strangle) " + _PERSON,
            r"(how|way|ways) to (kill|hurt|injure|beat|punish) " + _PERSON,
            (r"(put|slip|crush|mix|hide|add|sneak|dissolve)\w*", r"in(to)? " + _OTHERS_FOOD, r"without|secretly|covertly|so (he|she|they) (won'?t|doesn'?t|don'?t)|not (know|notice)"),
            r"(secretly|covertly) (give|giving|dose|dosing|medicate|medicating|sedate|sedating|drug|drugging)",
            r"(give|giving|put)[\w\s]{0,30}" + r"without (him|her|them|my \w+|the (patient|resident)) (knowing|noticing|realising|realizing|consent)",
            r"(sedate|drug|medicate)[\w\s]{0,25}(to keep (him|her|them) quiet|so (he|she|they) (stops?|won'?t|will) )",
            r"make (my |our |the )?(child|son|daughter|kid|baby|him|her) (seem|look|appear|get) (sick|ill|unwell)",
            r"(symptoms|illness)[\w\s]{0,20}(hard|hardest|impossible) (for doctors )?to (disprove|detect|prove)",
            r"(hurt|harm|injure|hit|punish)[\w\s]{0,10}(without|so it doesn'?t) (leaving|leave|show)[\w\s]{0,10}(marks|bruises|a mark)",
            r"(?<!should i )(?<!should we )(?<!do i )(?<!can i )(make|making|get|getting) " + _PERSON + r"[\w\s]{0,12}(violently |really |very |so )?(sick|ill|unwell|vomit\w*|pass out|unconscious|drowsy)",
            r"(contaminate|poison|tamper with|spike|lace)[\w\s]{0,10}(his|her|their|my \w+'?s?|someone'?s|the \w+'?s?) (food|drink|coffee|tea|meal|water|bottle|lunch)",
            r"(knock|put) (a |an |the |my |some )?(\w+ )?(girl|guy|woman|man|person|someone|somebody|him|her|them|date) out",
            (r"(put|give|add|mix|crush|slip)\w*[\w\s]{0,30}(pills?|tablets?|medicine|benadryl|antihistamine|sleeping|melatonin|alcohol|whisky|vodka|gin|rum|drops)",
             r"(in|into) (my|his|her|the|their) (baby'?s?|babys|child'?s?|kid'?s?|toddler'?s?|son'?s?|daughter'?s?|husband'?s?|wife'?s?|partner'?s?|dad'?s?|mum'?s?|mom'?s?) (bottle|milk|food|drink|formula|juice|coffee|tea)"),
            r"(keep|get|make)[\w\s]{0,20}\b(sedated|drugged|knocked out)",
            r"(say|tell)[\w\s]{0,25}(doctors?|nurses?|social workers?|teachers?|police)[\w\s]{0,25}so (they|she|he) (think|believe)",
            (_COVERT, _HARM_OBJECT, r"(him|her|them|someone|somebody|my (husband|wife|partner|mother|father|mum|mom|dad|son|daughter|baby|child|roommate|flatmate|neighbou?r|grandma|grandmother|grandad|grandfather)|"
             r"the (patient|resident|baby|child|school nurse)|a (girl|guy|child|person)|mother|father|roommate|flatmate)"),
            # effects sought on another person, made to look accidental, hidden marks
            r"(how (can|do|could|would) i|ways? to|(which|what) [\w\s]{0,20}(can|could|should|would|do) i)[\w\s']{0,40}\b(make|cause) (him|her|them|someone|somebody|people|everyone|a \w+|my \w+(-in-law)?|the \w+)[\w\s']{0,20}\b(bleed|collapse|die|pass out|black out|unconscious|suffer|stop breathing)\b",
            r"(slip|give|add|put|crush|mix|sneak)\w*[\w\s']{0,40}\b(so|to make) (my |the |a )?(him|her|them|date|\w+)[\w\s']{0,15}(doesn'?t|does not|won'?t|can'?t|not) (remember|wake|notice)",
            r"((make|making|made) (it|this|that|her death|his death|the \w+) |so (it|that it) )(look|looks|seem|seems|appear|appears) (like )?(an? )?(accident(al)?|natural( causes)?|a suicide)\b",
            r"knock (out|\w+ out) (everyone|people|someone|somebody|a person|him|her|them|the room)",
            r"(contaminat|tamper with|spike|lace)\w*[\w\s]{0,25}\b(food|drinks?|water supply|coffee|meal|buffet|punch)\b",  # not "food poisoning"
            r"(hurt|hit|harm|punish|injure|beat)[\w\s]{0,40}(nobody|no one|they|anyone|people) (sees?|notices?|can see|will see)|(without|not) (leaving|leave) (any )?(marks|bruises)",
            r"(dose|amount|how (much|many))[\w\s']{0,40}(would|to|could|will) (kill|stop) (a|his|her|their|someone'?s|\w+'?s) (heart|breathing)",
            r"(make|so) (it|him|her|them) (die|suffer) slowly|die slowly",
            r"(shake|hit|squeeze|hurt|punch|kick|slap)[\w\s]{0,30}(before|so|until) (it|this|that|anything) (shows|show) up on (a|the|an) (scan|x-?ray|tests?|tox\w*|blood tests?)",
            r"(keep|knock|put|get) (a |an |the |my |her |his |our )?(\d+[- ]month[- ]old|\d+[- ]year[- ]old|baby|toddler|child|kid|newborn)[\w\s]{0,15}(out cold|sedated|knocked out|drugged)",
            r"((make|making|made) (it|this|that|her death|his death|the \w+) |so (it|that it) )(look|looks|seem|seems|appear|appears) like (an? )?(ordinary |normal |genuine |innocent )?(accident|trip|fall|cross-contamination|natural causes|sids|cot death)",
            r"(weaken|tamper with|water down|sabotag\w*)\w*[\w\s']{0,25}(his|her|their|my \w+'?s?|someone'?s|the \w+'?s?) (medicines?|medication|meds|pills|insulin|tablets|inhaler|epilepsy)",
            r"(make|get) (someone'?s|his|her|their|\w+'?s) [\w\s]{0,25}(stronger|weaker)[\w\s]{0,25}(overdose|die|sick|fit)|so (they|he|she) overdose",
            r"(smallest|least|minimum|how much)[\w\s]{0,40}(would be|to be|is) (fatal|lethal|deadly) (for|to) (a|an|my|his|her) ",
            r"(wouldn'?t|won'?t|doesn'?t|does not|would not) show up[\w\s,]{0,40}(poison|tox\w*|autopsy|post[- ]mortem|blood test)|(poison|substance)[\w\s,]{0,40}(wouldn'?t|won'?t|doesn'?t) show up",
            r"(?<!should i )(?<!should we )(?<!do i )(?<!can i )(make|makes|making|get|gets|getting) " + _PERSON + r" (really |very |so )?(sick|ill|vomit\w*|pass out|unconscious|sleep|drowsy|suffer)",
            (r"(how much|how many|what dose|enough)\b", r"in(to)? (someone'?s|somebody'?s|a person'?s|his|her|their|my \w+'?s?) (drink|food|tea|coffee|meal|juice|bottle|water)"),
            # a cover story for injuries to someone: "my story to match when the police come",
            (r"(story|account|explanation|injur\w*|bruis\w*|marks)[\w\s]{0,25}(to )?(match|fit|line up|add up|be believed)", r"(police|cops|social (services|worker)|a&e|doctors?|nurses?|hospital|school|they ask|questions|wife|husband|partner|child|son|daughter|baby|kid)"),
            (r"\b(slip|put|sneak|add|crush|mix|spike|drop)\w*\b[\w\s,']{0,40}\b(in|into)\b[\w\s,']{0,25}\bdrinks?\b", r"(so (she|he|they)('?s| is| are| will| would)?|doesn'?t taste|can'?t (taste|tell)|tasteless|up for it|more (chill|relaxed|compliant|willing)|without (her|him|them) (knowing|noticing))"),
            (r"\b(hide|slip|put|sneak|mix|add|disguise|hidden)\b", r"so (she|he|they|my \w+|the \w+)( \w+)? (doesn'?t|don'?t|won'?t|can'?t|cannot|does not) (notice|taste|know|tell|realise|realize)|until (it'?s|its) too late", r"(allerg\w*|sesame|peanuts?|nuts?|shellfish|pills?|tablets?|meds|medication|drugs?|laxatives?|sedatives?|sleeping|eye ?drops)"),
            (r"(dose|amount|how much|how many|mg|units)[\w\s,]{0,60}(stops?|stop|arrest\w*) (a|an|the|someone'?s|his|her|their) (adult |human |person'?s )?heart", r"\w"),
            # fabricated illness: making a child ill or faking signs so doctors act,
            (r"(make|give|raise|drop|lower|induce)\w* (my \w+'?s?|his|her|him|their|the child'?s?|the baby'?s?) (blood sugar|sugar|temperature|a temperature|a fever|temp|a rash|symptoms|seizures?|fits?|blood pressure)", r"(doctors?|hospital|appointment|take (me|us) seriously|so they|more tests|admit)"),
            (r"(wouldn'?t|won'?t|doesn'?t|not|never) (look|seem|appear) suspicious", r"(die|died|death|dead|kill|deadly|fatal|lethal|overdose)"),
            (r"(causes?|cause|induce\w*|trigger\w*|reliably)[\w\s]{0,15}(a )?(cardiac arrest|heart attack|arrhythmia|death)", r"(dose|how much|amount|push|inject|iv|untraceable|undetectable)"),
            (r"(untraceable|undetectable)", r"(how long|in (the )?blood|post-?mortem|autopsy|tox\w*|before)"),
            r"(slip|give|feed|put)\w*[\w\s']{0,30}(her|him|them|my \w+) to make (her|him|them) (bleed|sick|ill|vomit|throw up|collapse|pass out)",
            (r"\b(dissolve|slip|put|mix|add|sneak|crush)\w*\b", r"so (he|she|they) (throws? up|vomits?|gets? sick|passes? out|collapses?|bleeds?)"),
            (r"(crush|put|slip|mix|add|sneak|hide|dissolve)\w*", r"in(to)? (the |my |our )?(kids?'?s?|children'?s?|child'?s|baby'?s|toddler'?s|son'?s|daughter'?s|nan'?s|gran'?s|mum'?s|mom'?s|dad'?s|husband'?s|wife'?s|partner'?s) (dinner|food|tea|drink|bottle|milk|juice|meal|breakfast|lunch|cereal|formula)", r"(so (they|he|she)|to make (them|him|her)|sleep|quiet|calm|settle|pills?|tablets?|meds|medicine|sleeping|" + _CONTROLLED[1:]),
            (r"(make|making|get|getting)\w* (a |my |the |our |her |his )?(toddler|child|baby|son|daughter|kid|him|her) (look|seem|appear) (like|as if|ill|sick|unwell)", r"(doctors?|neurologist|paediatrician|pediatrician|tests?|hospital|video|appointment|take (me|us) seriously)"),
            (r"(shut (her|him|them) up|keep (her|him|them) quiet|knock (her|him|them) out|(so|to make) (she'?s|he'?s|they'?re|she is|he is|they are|her|him|them) (properly |completely |totally )?(knocked out|out cold|sedated|quiet|asleep|zonked))", r"(meds|prn|tablets|pills|drugs|trolley|how much|which|benadryl|piriton|phenergan|melatonin|dose|give)"),
            r"(poisons?|drugs?|substances?|medicines?)[\w\s,]{0,30}(that )?(mimic|look like|pass (as|for)|resemble) (a )?(natural|heart attack|natural causes|a natural death)",
            (r"(hard|difficult|impossible) to (detect|trace|find)|(won'?t|doesn'?t|don'?t|not) show (up )?on (a |standard |routine )?(tox|toxicology)", r"(poison|tox|screen|overdose|kill|death|heart attack|dose)"),
            r"(shake|hit|smack|slap|squeeze|pinch|bruise)\w* (a |the |my |our |your )?(baby|child|toddler|kid|son|daughter|him|her)[\w\s]{0,30}(before|without)[\w\s]{0,25}(marks?|bruis\w*|showing|noticing|anyone)|how hard can (you|i|one) (shake|hit|smack|slap)",
            (r"(keep|make|get) (him|her|them|my \w+|the \w+) (asleep|sedated|knocked out|out cold|quiet|drowsy|sleeping)\b", r"(how much|how many|dose|together|mix|melatonin|nytol|benadryl|piriton|phenergan|sleeping|tablets|pills|" + _CONTROLLED[1:]),
            (r"(show up|detect\w*|be found|be traced|picked up)[\w\s]{0,20}\b(at|in|on|by) (the |an |a )?(autopsy|post-?mortem|tox\w*|coroner)", r"(overdose|insulin|died|death|kill|poison|potassium)"),
            (r"(make|so) (someone|her|him|them|a girl|a woman|a guy|my \w+)[\w\s]{0,20}(compliant|docile|passive|not (remember|resist|fight))|(won'?t|will not|not|doesn'?t|don'?t) remember (anything|what happened)", r"(dose|how much|drug|ketamine|ghb|rohypnol|roofie|slip|drink|pills?)"),
            (r"(couldn'?t|could not|can'?t|won'?t|wouldn'?t|would not) be (traced|detected|found)", r"(potassium|insulin|poison|dose|kill|overdose|nurse|patient)"),
            (r"(swap|switch|replace|substitut)\w*[\w\s']{0,40}(pills?|tablets?|meds|medication|pill ?box|dosette|inhaler|insulin)", r"(to (trigger|cause|make)|fatal|kill|die|so (he|she|they) (has|have|gets?|dies?)|seizure|overdose)"),
        ),
        category="harm_to_others",
    ),
    Rule(
        "falsified_records",
        "it asks to falsify medical records, certificates or test results",
        _r(
            (r"\b(fake|faking|forge\w*|falsif\w*|backdat\w*|fabricat\w*|counterfeit\w*|doctor(ed|ing)|tamper\w*)\b", _RECORD),
            (r"\bdoctor (the|a|my|his|her|their|these|those)\b", _RECORD),
            (r"\b(change|changing|edit|editing|rewrite|rewriting|delete|deleting|remove|removing|alter|altering|make up|leave out|leaving out|omit\w*)\b",
             _RECORD, _CONCEAL),
            r"(fake|forge|buy)[\w\s]{0,10}(a |an )?(doctor'?s note|sick note|fit note|medical certificate|vaccin\w* (card|certificate|pass))",
            r"synthetic urine|someone else'?s urine",
            r"(hide|cover up|cover-up|conceal|cover)[\w\s]{0,15}(a |the |my |our )?(medication error|mistake|error|overdose|fall|injur\w*|bruis\w*|neglect)[\w\s]{0,40}(chart|record|notes|family|anyone|audit|inspect\w*|report)",
            r"(write|record|document|chart|log)[\w\s]{0,30}so (the )?(famil\w*|inspectors?|auditors?|police|coroner|they|nobody|no one) (don'?t|doesn'?t|won'?t|wouldn'?t|can'?t) (suspect|know|find|notice|see)",
            r"so (it|the \w+) (doesn'?t|won'?t|will not|does not) (show up|appear|get flagged|get noticed)[\w\s]{0,15}(on|in) (the )?(audit|record|count|chart|register|log)",
            r"(upcode|upcoding|bill for|charge for)[\w\s]{0,30}(never|not) (done|performed|provided|happened)",
            # records changed to show what did not happen, letters "from" a clinician, results made to look normal
            (r"\b(change|changing|alter|altering|edit|editing|amend|amending|update)\b", r"(vaccin\w*|immuni[sz]ation|medical|health|gp|hospital) (record|certificate|card|status|history|notes)", r"(so (it|that it) (shows|says)|to (show|say)|as if|even though)"),
            r"(write|draft|make|create)[\w\s]{0,12}(a |an )?(letter|note|certificate|report|prescription)[\w\s]{0,12}\bfrom (a|my|the|an) (doctor|psychiatrist|gp|consultant|physician|nurse|surgeon|clinic)",
            r"make[\w\s']{0,30}(readings?|results?|tests?|levels?|records?|numbers) (look|appear|seem|read|come (back|out)) (normal|fine|negative|clean|better|good)",
            r"(claim|bill|charge|invoice)\w*[\w\s]{0,40}(never (had|done|happened|performed|provided|took place)|(didn'?t|did not) (happen|have|take place)|longer than (i|we|they) (actually|really)|more than (i|we) (actually|really))",
            r"so (that )?(the )?(audit|auditors?|inspectors?|insurers?|regulator|coroner) (doesn'?t|won'?t|can'?t|don'?t|does not|will not) (find|see|notice|catch|spot)",
            (r"(look|looks|seem|seems|appear) (genuine|real|legit|authentic|original)|different pens|without (it )?raising (any )?questions", r"(chart|record|note|letter|certificate|paperwork|form|signature|prescription|register|summary)s?\b"),
            r"(write|fill in|complete|make|draft)[\w\s']{0,25}(discharge summary|medical record|mmr record|vaccin\w* record|fit[- ]to[- ]fly letter|sick note|fit note|medical certificate|death certificate|repositioning charts?|charts?)[\w\s,']{0,40}(saying|says|so (the|they|it|that)|just need the paperwork)",
            (r"\b(change|changing|alter|altering|edit|editing|amend|amending)\b", r"(letter|note|record|certificate|report|summary|results?)", r"so (it|that it) (says|shows|reads)|to (say|show|read)\b"),
            r"(don'?t|do not|not) (document|record|chart|write) (it|this|that|anything)( anywhere| down)?|word (my|the|our) notes so (it|they|that it) (doesn'?t|don'?t|won'?t|does not)",
            (r"(copy|forge|fake|replicate|make|print)\w*[\w\s,']{0,40}so (mine|it|the \w+|my \w+) (passes|will pass|looks (real|legit|genuine|official)|gets? accepted|goes through)", _RECORD + r"|script|prescription|pharmacists?"),
            (r"(certificate|result|report|card|letter|note)", r"(didn'?t|did not|haven'?t|have not|never|without) (have time to |get to |actually )?(test|get tested|got tested|take (the|a) test|took (the|a|any) test|had (the|a) test|see (a|the) doctor|been vaccinated|get vaccinated|go)\b"),
            (r"(certificate|result|report|card|letter|note)[\w\s,]{0,40}(with|and|using) (a |the )?(lab|clinic|hospital|nhs|surgery|pharmacy)'?s? (logo|letterhead|stamp|header)", r"\b(need|want|make|get|create|give me)\b"),
        ),
        category="falsified_records",
    ),
    Rule(
        "dangerous_self_treatment",
        "it asks for a dangerous procedure or treatment done without medical care",
        _r(
            r"(perform|do|carry out|operate)[\w\s]{0,15}(my own|on myself|at home)[\w\s]{0,20}(surgery|appendectomy|operation|abortion|amputation|stitches on|c-?section|tracheotomy|lumbar puncture)",
            r"(my own|on myself|at home|by myself|diy)[\w\s]{0,10}(surgery|appendectomy|operation|abortion|amputation|tracheotomy)",
            r"(pull|extract|remove|drill)[\w\s]{0,10}(my own|out my own|my|his|her)[\w\s]{0,10}(tooth|teeth|molar|wisdom tooth)[\w\s]{0,30}(pliers|myself|at home|string|without)",
            r"(pull|extract)[\w\s]{0,10}(my own|out my own) (tooth|teeth|molar)",
            r"(remove|cut out|burn off|lance|drain)[\w\s]{0,10}(my|a|the) (mole|cyst|tumou?r|lump|abscess|skin tag)[\w\s]{0,30}(myself|at home|with a (knife|razor|needle|blade))",
            (r"(instead of|rather than|without|stop(ping)?|quit(ting)?|skip(ping)?)[\w\s]{0,10}(chemo\w*|insulin|antibiotics|radiotherapy|dialysis|the (operation|surgery)|my (meds|medication|treatment))",
             r"(cure|treat|heal|fix)\w*[\w\s]{0,40}(with|using|by) (bleach|turpentine|mms|chlorine dioxide|baking soda|juic\w*|fasting|essential oils?|herbs?|vitamin|colloidal silver|urine)"),
            r"(drink|drinking|inject|injecting|swallow)\w*[\w\s]{0,10}(bleach|turpentine|mms|chlorine dioxide|kerosene|colloidal silver)[\w\s]{0,30}(cure|treat|kill|get rid|detox|cleanse)",
            r"(less than|under|below) (\d{3}) (calories|kcal)[\w\s]{0,20}(a|per) day",
            r"(set|reset|fix|straighten)[\w\s]{0,10}(my|his|her) (own )?(broken|fractured|dislocated)",
            r"(inject|injecting)[\w\s]{0,20}(myself|into my)[\w\s]{0,20}(silicone|filler|botox|testosterone|steroids|insulin to lose)",
            r"(inject\w*)[\w\s]{0,15}(silicone|filler|botox|oil|steroids)[\w\s]{0,20}(into|in) (my|his|her)",
            r"(stop|stopping|skip|skipping|quit|quitting|replace|replacing|come off)[\w\s']{0,25}(insulin|chemo\w*|surgery|operation|antibiotics|dialysis|radiotherapy|treatment|transplant)[\w\s,]{0,60}\b(instead|and (use|do|try|go))",
            r"(drain|lance|aspirate|stitch|suture|cut open)[\w\s]{0,30}(my|his|her)[\w\s]{0,25}(with|using) (a |an |some )?(\w+ )?(syringe|needle|knife|razor|blade|scalpel)",
            (r"(horse|veterinary|vet|fish|aquarium|livestock|cattle|animal)[\w\s]{0,15}(paste|amoxicillin|antibiotics?|ivermectin|medicine|wormer|tranquil\w*|pills)",
             r"(myself|for me|i (take|use)|should i take|\d+ ?kg (adult|man|woman|person)|my (cancer|infection|pneumonia|covid|flu|cold|chest|son|daughter))"),
            (r"\b(mms|chlorine dioxide|miracle mineral)\b", r"\b(dose|give|giving|take|drink|how much|protocol|cure|treat)"),
            # stopping what keeps someone alive, or a dangerous substance as medicine, with a how-to
            (r"(instead of|rather than|and stop|so (he|she|i|they) can stop|to replace|replac\w*) (his |her |my |their |the )?(chemo\w*|insulin|antibiotics|dialysis|radiotherapy|surgery|epilepsy (meds|medication|tablets)|inhalers?|transplant)",
             r"\b(how (much|many|do|can|should|to)|tell me how|what dose|how long)\b"),
            (r"\b(bleach|colloidal silver|turpentine|kerosene|mms|chlorine dioxide|hydrogen peroxide|borax)\b", r"\b(drink|give|take|dose|how much|swallow|inject)",
             r"\b(cure|detox|cleanse|instead of|protocol)\b|to (cure|treat) (my |his |her |the )?(cancer|autism|covid|infection|parasites|virus|ear)"),
            r"(stop|come off|get off|quit)[\w\s']{0,25}(epilepsy|heart|seizure|blood pressure|transplant|psychiatric|antipsychotic|lithium|insulin) (medication|meds|tablets|drugs|pills)[\w\s']{0,40}(suddenly|without (my |the |her |his )?(doctor|cardiologist|gp|neurologist|psychiatrist|team)|at home|fast|quickly|cold turkey)",
            r"inject\w*[\w\s]{0,25}(my own|myself|at home)[\w\s]{0,20}(filler|botox|silicone|steroids|testosterone|peptides?)|(filler|botox|silicone)[\w\s]{0,25}(bought online|at home|myself)",
            r"(hook|pull|take|get|remove) (it|my coil|the coil|my iud|the iud|my implant)[\w\s]{0,20}out (myself|at home|with (a|some))|(crochet hook|pliers|kitchen knife|razor blade)[\w\s,]{0,20}(myself|at home|out)",
            r"(dry fast|water-?only fast|no water at all)[\w\s,.]{0,60}(heal|cure|treat|push through|days)",
            (r"(come off|stop|quit|stopping|coming off)[\w\s']{0,40}(antipsychotic|lithium|blood thinners?|anticoagulants?|rivaroxaban|warfarin|antiepileptic|epilepsy|heart medication|insulin|chemo)",
             r"all at once|cold turkey|instead|and (use|do|try|manage)|day-by-day|without (my |the )?(doctor|team|psychiatrist|gp)"),
            (r"(replace|instead of|rather than)[\w\s]{0,25}(rivaroxaban|warfarin|apixaban|blood thinners?|insulin|chemo\w*|antibiotics|antipsychotics?|lithium)", r"\b(dose|doses|how much|which|what)\b"),
            r"(bought|ordered|got)[\w\s]{0,40}(online|website|abroad|peptide)[\w\s,.']{0,80}(inject|mix|dose|how much)|inject[\w\s]{0,15}(it )?(straight )?into my (knee|joint|face|lips|shoulder|back)",
            (r"(give|giving)[\w\s]{0,40}(codeine|tramadol|aspirin|adult|my (codeine|tablets|pills)|quarter|half)", r"(\d+[- ]?(month|week)[- ]?old|newborn|infant|baby)"),
            # abortion with a herb or drug bought outside care ("what dose of X causes a miscarriage"),
            (r"(dose|how much|how many|amount|enough|take)\b", r"(cause|causes|causing|bring on|induce|trigger|start)[\w\s]{0,10}(a )?(miscarriage|abortion)", r"(pennyroyal|misoprostol|cytotec|blue cohosh|black cohosh|tansy|mugwort|rue|quinine|castor oil|parsley|vitamin c|dong quai|mifepristone|pills?|tablets?|herbs?|oil|tea)"),
            r"\b(black salve|bloodroot|escharotic|cansema)\b",
            (r"(burn|cut|remove|freeze|take|get)\w* (it |a mole |the mole |moles |a skin tag |skin tags |a cyst |the cyst |a lump |the lump )?(out|off) (myself|at home|with)", r"(don'?t|do not|won'?t|rather not) (want to )?(see|go to|bother) (a|the|my) (doctor|dermatologist|gp|surgeon|hospital)"),
            (r"(put|pop|yank|push|snap|force|pull|click)\w* (it|my \w+|his \w+|her \w+|the \w+) back (in|into place|into (the )?socket)", r"(myself|at home|don'?t trust|without (a |the )?(doctor|hospital|a&e))"),
            (r"(lanc\w*|drain\w*|cut\w* open|cut\w* out|pop\w*|stitch\w*|sew\w*|cauteri\w*)[\w\s]{0,30}(abscess|boil|cyst|wound|cut|gash|lump)", r"(myself|at home|kitchen knife|needle|razor|fishing line|not going to (a|the) (doctor|hospital|gp|a&e)|without (a|the) (doctor|hospital))"),
        ),
        category="dangerous_self_treatment",
    ),
    Rule(
        "medical_ethics",
        "it asks for something that breaches medical ethics or a patient's rights",
        _r(
            (r"without (telling (them|him|her|patients|the patient)|(their|his|her|informed|proper) consent|consent( forms?)?)\b", r"(trial|test\w*|experiment\w*|enrol\w*|research|study|procedure|drug)"),
            r"(sell|share|leak|pass on)\w*[\w\s]{0,25}(patient|patients'?|medical|health|clinical) (data|records|information|details)",
            r"(look up|access|read|view|snoop (on|at|through)|check)[\w\s']{0,30}(neighbou?r'?s?|ex'?s?|colleague'?s?|celebrity'?s?|someone'?s|friend'?s?|boss'?s?) (hospital |medical |health |gp )?(records?|notes|chart|results|file)",
            r"refus\w* (treatment|care|to treat|to see)[\w\s]{0,40}(ethnic|race|racial|religio\w*|gay|trans\w*|disab\w*|poor|immigrants?|certain)|without (it )?looking discriminatory",
            r"(pressure|coerce|manipulate|force|persuade)\w*[\w\s]{0,25}(an? |the |my )?(elderly |vulnerable |old |dying )?(patient|resident|client)[\w\s]{0,25}\b(into|to) (chang|sign|leav|giv)\w*",
            r"hide (that|the fact)[\w\s]{0,30}(drunk|high|impaired|intoxicated|under the influence)",
            (r"(unnecessary|not needed|needless|doesn'?t need) (surgery|operation|procedure|tests?|treatment|scan)", r"\b(agree|convince|tell|pays?|bill|persuade|talk)"),
            (r"without (asking|telling|discussing it with|(them |her |him )?(specifically )?consenting|(her|his|their) (consent|permission|knowledge))", r"\b(operate|examin\w*|take off|remove|inject|message|ring|call|tell|practi[sc]e|photograph)"),
            r"(screenshot|photograph|copy|send|leak|forward)[\w\s']{0,30}(her|his|their|a patient'?s|the patient'?s|celebrity'?s|patients'?) (record|notes|chart|scan|results|details)",
            r"(go through|search|dig through|look through) (her|his|their|the patient'?s|a patient'?s) (records|notes|file)[\w\s]{0,40}(embarrassing|against|use)",
            r"(inject|give)[\w\s]{0,20}saline[\w\s,]{0,25}(tell|say)",
            r"(pressure|coerce|manipulate|force|persuade)\w*[\w\s]{0,50}\b(into|to) (sign|signing|agree|agreeing|consent)",
            (r"without (going through |getting |asking |telling )?(the )?(ethics|ethical approval|irb|an? ethics committee|research ethics|r&d|consent|the patients?)", r"(try|trial|test|experiment|give|dose|use|study|research)\w*[\w\s]{0,40}(patients?|residents?|participants?|people|them)"),
            (r"(start\w*|begin\w*|have|pursue|ask\w*|initiat\w*)[\w\s]{0,20}(a )?(relationship|romance|affair|date|sexual)[\w\s]{0,30}\b(her|him|them|patient|client)\b", r"(patients?|clients?|therapist|psychiatrist|psychologist|doctor|gp|nurse|counsell?or|session)"),
            (r"\b(bur(y|ied)|hid(e|den)|downplay\w*|play down|gloss over|small print)\b[\w\s,]{0,40}(risks?|side effects?|complications?|nerve damage)|(risks?|side effects?|complications?)[\w\s,]{0,40}\b(bur(y|ied)|hid(e|den)|downplay\w*|played down)\b", r"(patients?|consent|clients?|forms?)"),
        ),
        category="medical_ethics",
    ),
)

# Frames that ask how to keep someone safe: never refused on their own, a safety note at most.
PROTECTIVE_RULES: tuple[Rule, ...] = (
    Rule("safe_use", "", _r(
        r"\b(is it|is this|is that|are they|are these|would it be|it'?s) (\w+ )?safe\b|\bsafe (to|for|dose|amount|limit|level)|safe(ly|st)? (way|ways) to (take|use|store|give|dispose|stop|come off)|"
        r"\bsafely (take|use|store|give|dispose|stop|come off|reduce)|how (do|can|should) (i|we|you) (\w+ )?safely|safety (tips|advice|precautions|information)",
        r"(normal|usual|recommended|correct|right|standard|maximum|max|safe) (adult |daily |starting )?(dose|dosage|amount)",
        r"how (much|many|often)[\w\s]{0,30}(can|should|may|is it ok to) (i|he|she|we|you|they|a \w+) (take|give|have|use)",
        r"child-?proof\w*|out of (the )?reach of|keep (them|it|\w+) away from (the )?(children|kids|toddlers?|baby)|"
        r"prevent\w* (an? )?(accident\w*|poisoning|overdose|harm|falls?|injur\w*)|protect (my|our|the|him|her|them)\b",
        r"(store|storing|dispose|disposing|get rid of|throw away|lock up|keep)[\w\s']{0,30}(medicines?|medications?|meds|pills|tablets|drugs|painkillers|sharps|needles|inhalers?|insulin|" + _CONTROLLED[1:],
        r"(make|making|keep|keeping)[\w\s']{0,30}(house|home|flat|room|bathroom|stairs|kitchen|garden|car)\w*[\w\s']{0,10}(safer|safe (for|from))|so (she|he|they|i|we) (doesn'?t|don'?t|won'?t) (fall|trip|slip|choke|get burn\w*)",
        r"(tips|ways|advice|how) (for|to|on) (stop|stopping|prevent|preventing|avoid|avoiding)[\w\s]{0,10}(blisters?|chafing|sunburn|bites|cramps?|falls?|injur\w*|infections?|colds?|flu|hangovers?|jet lag|snoring|heartburn)",
        r"so (i|we|he|she|they) (don'?t|won'?t|do not|never) (hurt|injure|wreck|damage|strain|break|pull|tear|overdo)",
        r"(install|put|fit|place|test|position)\w*[\w\s]{0,30}(alarms?|detectors?)|(smoke|carbon monoxide|co|fire|gas) (alarms?|detectors?)",
        r"\b(should )?never be mixed\b|\bwithout (gassing|poisoning|hurting|burning|harming) (myself|yourself|ourselves|them|him|her|the kids)\b",
        r"(best way|how (do|can|should) (i|we)) (to )?avoid (getting )?(too )?(drunk|sunburnt|sunburned|ill|sick|hungover|dehydrated)|tell if someone needs help",
        r"(get rid of|dispose of|throw away|return|hand in) (it|them|these|those|the rest) safely|safely (dispose|get rid)",
    )),
    Rule("first_aid", "", _r(
        r"first aid|\bcpr\b|recovery position|heimlich|what (do|should) (i|we|you) do (if|when)|how (do|can|should) (i|we|you) (help|treat|look after|care for)",
        r"(help|save|protect) (someone|somebody|a person|my|him|her|them|a \w+) (who|that|from|with|having|if)",
        r"(use|give|administer|carry)[\w\s]{0,10}(an? |the |her |his |my )?(epi-?pen|adrenaline|auto-?injector|inhaler|naloxone|narcan|defibrillator|aed|glucagon|rescue (medication|medicine|pack))",
        r"(support|comfort|reassure|help|be there for|talk to) (her|him|them|my \w+|a friend|someone|somebody)\b[\w\s,]{0,40}(what (should|do|can) i (say|do)|through (it|this))|what (should|do|can) i (say|not say)( or not say)? to (her|him|them|my \w+|someone|a friend)|how (do|can|should) (i|we) support (her|him|them|my \w+|a friend|someone)",
        (r"\b(defibrillators?|aeds?|epi-?pens?|naloxone|narcan|first aid kits?|test strips?|drug checking|needle exchange)\b", r"\?|how (do|does|should|can|to)\b"),
        r"\bi want to (support|help|be there for) (her|him|them|my \w+|a friend|someone)\b|(saying|say) the wrong thing|(asking|ask) (someone|them|him|her) (directly )?(if|whether|about)",
        r"\b(friend|son|daughter|brother|sister|partner|husband|wife|mum|mom|dad|colleague|flatmate|roommate|teen\w*)('?s (friend|mate))?\b[\w\s']{0,15}(is|has been|seems|'s been|was) (really |very )?(struggling|low|down|depressed|hopeless|suicidal|self-harming)",
        r"what (should|do|can) (i|we) do( and not do)?\s*(\?|$)|\bdo'?s and don'?ts\b|what (not to|to) do (if|when|and)",
        r"(where|how) (can|do|would|should) (i|we|you|someone) (get|use|find|access|carry)[\w\s]{0,25}(test strips?|naloxone|narcan|needle exchange|drug checking|epi-?pens?|defibrillators?|aeds?)",
        r"(what|how) can (i|we) (do )?(day to day |day-to-day )?(to )?(help|support) (him|her|them|my \w+)?|look after (myself|yourself|ourselves)",
        r"how (do|can|should) i (bring (it|this) up|raise it|talk to (her|him|them) about|start (the|a|that) conversation)",
    )),
    Rule("recognise", "", _r(
        r"(signs?|symptoms?|warning signs?)[\w\s]{0,10}(of|that)[\w\s]{0,20}(abuse|neglect|overdose|poisoning|self-harm|suicid\w*|addiction|misuse|grooming|trafficking)",
        r"(recogni[sz]e|spot|tell if|know if|notice)[\w\s]{0,40}(abuse|neglect|overdos\w*|poison\w*|self-harm\w*|suicid\w*|addict\w*|misus\w*|being hurt)",
        r"(report|reporting)[\w\s]{0,20}(abuse|neglect|a colleague|an error|a mistake|concerns?|safeguarding)",
    )),
    Rule("seek_care", "", _r(
        r"(bring (it |this |that )?up|tell|talk to|speak to|discuss\w*|mention|ask|raise)[\w\s]{0,25}(with |to )?(my |the |a |our )?(new )?"
        r"(gp|doctor|nurse|therapist|psychiatrist|psychologist|pharmacist|midwife|counsell?or|health visitor|consultant|dentist)\b",
        r"(get|have|take)[\w\s]{0,20}(him|her|them|me|myself|my \w+|it) (properly |formally |fully )?(assessed|checked( out)?|seen( to)?|"
        r"tested|diagnosed|evaluated|examined|referred|looked at)\b|(book|make|get) (an? |the )?(appointment|assessment|check-?up|referral)",
        r"(ring|call|phone|dial) (111|999|911|112|nhs|an ambulance)|urgent (treatment|care) cent(re|er)|when (should|do) (i|we) (go to|call|ring) (a&e|the er|111|999|911|urgent care)",
        r"find (a|an) (nhs )?(dentist|gp|doctor|therapist|counsell?or|physio\w*|optician|midwife)|(does|will|do) (the )?nhs (cover|pay)|register(ed)? with a (new )?(gp|dentist|doctor)|poison(s)? (control|centre|center|line|information)",
        # the duties and processes of care: reporting, documenting honestly, consent and capacity, rights,
        r"\b(proper|legal|correct|right|formal|official|usual) (process|route|procedure|way|framework|channels?|steps)\b|\b(my|our) (duty|duties|obligations?|responsibilit\w*)\b|\bwhat (rights|options) do (i|we) have\b",
        r"\bdocument (this|it|that) honestly\b|\bsafeguarding\b|\bhow (should|do|can) (i|we) (respond|raise|report|document|write (it|this) up|manage|handle|tell (a|the|her|him|them))\b|\bwhen is (it|a doctor|a nurse|someone|a gp) (allowed|acceptable|permitted|ok|okay|legal)\b|\bassess\w* (whether|if) (a|the) patient has capacity\b",
        r"travel (vaccines?|vaccinations?|jabs|health|clinic)|(vaccines?|vaccinations?|jabs) (for|before) (travel|my trip|going)|what (vaccines?|vaccinations?|jabs) (should|do) (i|we)",
        r"check (my|his|her|your) (own )?(moles|skin|breasts?|testicles|balls|prostate)|what should (i|we) look (out )?for|self-?exam\w*|(my|get|book|have|due|going for) (a |an |my )?(\w+ )?screening\b",
    )),
    Rule("quit_reduce", "", _r(
        r"(quit|stop|stopping|cut down|come off|coming off|taper\w*|wean\w*|reduce|withdraw\w*)[\w\s]{0,20}(smoking|vaping|drinking|alcohol|opioids?|benzos?|drugs|using|my (meds|medication|antidepressants?|pills))",
        r"(get|find|ask for|need) (help|support|treatment|rehab)",
        r"(stop|stopping|come off|coming off|taper\w*|wean\w*)[\w\s]{0,15}(my |prescribed |the )?(meds|medications?|medicines?|pills|antidepressants?)",
    )),
    Rule("help_for_self", "", _r(
        r"(treat\w*|therap\w*|help|support|cope|coping|manage|managing|deal with|recover\w*|overcome|improve)[\w\s]{0,25}"
        r"\b(my|myself|for me)\b[\w\s]{0,15}(depression|anxiety|stress|distress|grief|self-esteem|mood|panic|insomnia|sleep|"
        r"addiction|drinking|pain|weight|health|mental health|condition|symptoms|illness)",
        r"\b(i'?m|i am|i'?ve been|i have been|i feel|i keep)[\w\s]{0,10}(struggling|depressed|anxious|lonely|overwhelmed|"
        r"going through|feeling (low|down|hopeless|anxious|stressed))",
        r"\b(my|our) (child|son|daughter|teen\w*|kid|partner|husband|wife|mother|father|mum|mom|dad)\b[\w\s]{0,15}"
        r"(is|has been|seems) (struggling|showing signs|depressed|anxious|self-harming|using|drinking)",
        r"\b(manage|cope with|deal with|handle|reduce) (my |work |the )?(stress|anxiety|burnout|worry)",
    )),
    Rule("ask_about_symptoms", "", _r(
        r"\b(is (this|it|that) (\w+ )?(normal|serious|dangerous|worrying|concerning|common|a sign|something to worry)|"
        r"should (i|we) (be )?(worried|concerned|worry|see (a|the|my|our) \w+|call (a|the|my|our) \w+|take (him|her|them) to)|"
        r"what (could|might|can|would) (this|it|that|these|those) be|what (causes|is causing|could cause|might cause)|"
        r"is (he|she|they) (ok|okay|alright|all right)|(when|at what point) should (i|we) (worry|see|call|go))\b",
    )),
    Rule("own_records", "", _r(
        r"(my own|my|our|my (child|son|daughter|mother|father|mum|mom|dad)'?s?) (medical |health |hospital |gp |test )?(records?|notes|results|chart)[\w\s]{0,30}(copy|access|see|get|request|read|view|correct|mistake|wrong)",
        r"(request|get|access|see|obtain|correct|ask for|apply for|read)[\w\s]{0,15}(a copy of )?(my|our|my \w+'?s) (own )?(medical |health |hospital |gp )?(records?|notes|results)",
        # the paperwork of one's own care: appeals, referrals, insurance, a fit note from one's own GP,
        r"\b(appeal|dispute|challenge|complain about)\b[\w\s]{0,30}\b(claim|decision|denial|bill|refusal)\b|\b(claim|decision|bill)\b[\w\s]{0,30}\b(denied|refused|rejected)\b[\w\s,]{0,30}how (do|can|should) i (appeal|dispute|challenge)",
        r"(denied|refused|rejected|declined) (a |my |the |our )?(\w+ ){0,2}(claim|cover\w*|request)[\w\s,.'’]{0,60}\b(appeal|dispute|challenge)",
        r"\b(refer|referring) (myself|yourself)\b|\bself-?refer\w*|(does|will|would|do) (my |the |travel |health )*insurance cover|what (do|should) i (need to )?declare",
        r"(get|ask for|request|need) (a|an|my) (fit|sick|doctor'?s|medical) (note|certificate)[\w\s]{0,10} from (my|the|a|your) (gp|doctor|surgery|hospital)",
        r"(take|check|measure|monitor|record|read) (my|his|her|our|your) (own )?(blood pressure|bp|temperature|pulse|blood sugar|glucose|heart rate|peak flow|oxygen)",
        r"(overcharged|over-?billed|itemi[sz]ed bill|explanation of benefits|\beob\b|(my|our|the|an?) (\w+ )?(medical|hospital|er|ambulance) bills?\b|(insurance|insurer)[\w\s]{0,20}(denied|refused|rejected|declined)[\w\s,.'’]{0,80}\b(appeal|dispute|challenge))",
        r"(request|get|access|see|obtain|ask for|read)[\w\s]{0,15}(a copy of )?(my|our|my \w+'?s) (own |full |whole |complete )?(medical |health |hospital |gp )?(records?|notes|results)",
        r"(request|get|access|see|obtain|ask for|read)[\w\s]{0,15}(a copy of )?(my|our|my \w+'?s) ((own|full|whole|complete|medical|health|hospital|gp|dental) ){0,3}(records?|notes|results)",
        r"(fit|sick) note[\w\s,'’-]{0,80}(how do i get|where do i get|does it have to be|who can (give|write|issue|sign)|extend\w*|renew\w*)|how (do|can) i get (a|an|one|my) (fit|sick) note",
        r"prescription (charges?|costs?|prepayment)|\bppc\b|cheaper way to pay",
        r"(have to|need to|should i|must i) declare|(what|which) (form|forms|paperwork) (does|do|should|would) (she|he|i|we|they)|power of attorney|\bhipaa\b|release form",
        r"(out of network|in network|\bcopay\b|deductible|prior authori[sz]ation)",
    )),
)


# What a refusal protects: a person (oneself included), a drug or medicine, a record or test, or
# care itself. A request with none of these ("kill time", "crush a soda can", "blow up a balloon")
# is figurative or everyday and is never refused by the classifier alone.
_TARGET = re.compile(
    # people and groups
    r"\b(someone|somebody|anyone|a person|people|persons?|humans?|humanity|him|her|them|myself|yourself|himself|herself|"
    r"themselves|my (own )?(life|body)|bod(y|ies)|patients?|residents?|clients?|victims?|child(ren)?|kids?|bab(y|ies)|infants?|"
    r"toddlers?|teen\w*|minors?|elderly|seniors?|wom[ae]n|m[ae]n|girl\w*|boy\w*|wife|husband|partner|spouse|date|mother|father|"
    r"mum|mom|dad|parents?|grand\w+|son|daughter|brother|sister|famil(y|ies)|friends?|neighbou?rs?|colleagues?|coworkers?|"
    r"boss|roommate|flatmate|staff|employees?|workers?|students?|pupils?|cops?|police\w*|soldiers?|president|politicians?|"
    r"immigrants?|refugees?|minorit\w*|races?|ethnic\w*|religio\w*|population\w*|communit\w*|individuals|groups?|crowds?|"
    r"citizens?|school|city|country|army|"
    # care, health and the body
    r"\w+(ologist|iatrist|ician|ist)s?|nurses?|doctors?|surgeons?|dentists?|midwi\w+|healthcare|health\w*|medical\w*|"
    r"clinical\w*|hospital\w*|clinic\w*|icu|care|treatments?|therap\w*|surger\w*|procedures?|diagnos\w*|screening\w*|"
    r"symptoms?|ill\w*|diseases?|disorders?|conditions?|infect\w*|cancer\w*|diet\w*|calori\w*|eating|weight|anorexi\w*|"
    r"bulimi\w*|starv\w*|exercis\w*|blood|organs?|skulls?|spines?|arter\w*|veins?|wrists?|arms?|throat|wounds?|injur\w*|"
    r"suicid\w*|self-harm|scars?|sex\w*|rape|pregnan\w*|abortion|experiment\w*|trials?|"
    # drugs, substances and records
    r"drugs?|medicines?|medications?|meds|pills?|tablets?|capsules?|prescri\w*|doses?|dosage|overdos\w*|substances?|"
    r"poison\w*|chemicals?|toxi\w*|alcohol|vaccin\w*|inject\w*|insulin|antibiotics?|steroids?|cocaine|coke|weed|"
    r"marihuana|marijuana|cannabis|crack|lsd|mdma|ecstasy|records?|charts?|certificates?|insurance|consent|"
    # medical ethics: regulation, evidence and health claims
    r"regulat\w*|guidelines?|evidence\w*|misinformation|mislead\w*|false(ly)?|fake|unproven|devices?|products?|"
    r"supplements?|cures?|remed(y|ies)|"
    # crimes against people or property
    r"murder\w*|massacre\w*|genocide|assassinat\w*|terror\w*|bomb\w*|explos\w*|weapons?|guns?|firearms?|arson|"
    r"kidnap\w*|traffick\w*|assault\w*|fraud\w*|launder\w*|robbery|rob|theft|burglar\w*|treason|vault|alarm|casino|"
    r"house|home|car)\b"
    + "|" + _CONTROLLED + "|" + _RECORD,
    re.I,
)


# A request to act (how do I, what can I, help me, I want to) rather than to know (what is, why).
_INSTRUMENTAL = re.compile(
    r"\b(how (do|can|could|should|would|might) (i|we)|how to|what (can|could|should|would|do) (i|we)|"
    r"what'?s the (best|easiest|quickest|fastest|cheapest|simplest|trick|way|dose|amount)|what (is|are) the (best|easiest|quickest) (way|ways)|"
    r"which [\w\s,'()-]{0,40}(can|could|should|would|do) (i|we)|(what|which|where|when|how much|how many) [\w\s,'()-]{0,40}(should|can|could|do|would|must) (i|we)\b|(help|teach|show) me|tell me (how|what|which)|give me|write (me )?(a|an)|"
    r"i (want|need|plan|intend|am going|'m going|wanna|have) to|i'?ll|is there a way|best way|ways? (to|of)|what dose|"
    r"how (much|many)[\w\s]{0,40}(would|to|can|should|do|does it take)|where (can|do|could) (i|we) (get|buy|find|order)|"
    r"how (do|can|could|should|would|might) (you|one|someone|somebody)|how (can|could|might|should|would) (a|an|the|my|our) \w+|"
    r"(can|could|would|will) you (please )?\w+|"
    r"what (are|is) (some |the )?(best |most effective |easiest )?(ways?|strategies|methods|steps|tips|tactics|techniques|arguments|reasons) (to|for|of|that)|"
    r"what steps|what (can|could|should) (a|the) (doctor|nurse|physician|clinician|hospital|provider|pharmacist))\b|"
    # an imperative opening a sentence: "Provide...", "List ways to...", "Write a post..."
    r"(^|[.!?]\s+)(provide|list|write|create|draft|compose|generate|outline|suggest|recommend|develop|design|devise|"
    r"explain|describe|give|tell|teach|show|help|advise|instruct|convince|persuade|encourage|plan|prepare|introduce|avoid|"
    r"produce|perform|discuss|argue|justify|promote|deny|refuse|ignore|prioriti[sz]e|withhold|share|post|publish|sell|offer|"
    r"charge|bill|use|prescribe|recommend|implement|establish|conduct|make|find|get|keep|tell|send|falsify|fake|skip)\b",
    re.I,
)


def read_intent(text: str) -> Intent:
    """The harm and protective cues of `text`. A harm cue outranks a protective frame."""
    harm = [r for r in HARM_RULES if fires(r, text)]
    safe = tuple(r.name for r in PROTECTIVE_RULES if fires(r, text))
    acts = bool(_INSTRUMENTAL.search(text))
    target = bool(_TARGET.search(text))
    if harm:
        return Intent("harmful", harm[0].category, tuple(r.name for r in harm), safe, acts, target)
    if safe:
        return Intent("protective", None, (), safe, acts, target)
    return Intent("none", None, instrumental=acts, target=target)


REASONS: dict[str, str] = {r.category: r.reason for r in HARM_RULES}
