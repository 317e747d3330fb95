"""Patterns of prompt injection and jailbreak, by category and language, on normalised text.

Patterns run on the output of `steerwise.guardrails.normalise`: lower case, accents dropped
("précédentes" is "precedentes", "ß" is "ss"), invisibles removed, spaced-out letters joined.
In a pattern's source a space stands for "any run of non-letters, possibly empty" (so that
"ignore previous", "ignore, previous" and "ignoreprevious" all match) and `~` for "up to three
other words". Each pattern has a weight in [0, 1]: how sure a match alone makes us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from steerwise.guardrails.normalise import NormalisedText, views
from steerwise.guardrails.triggers import WordStarts, triggers

LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "ru": "Russian",
    "hr": "Croatian, Serbian or Bosnian",
    "*": "any language",
}
_JOIN = r"[\W_]*"
_WORDS = r"(?:[^\W_]+[\W_]+){0,3}?"


@dataclass(frozen=True)
class InjectionPattern:
    """One compiled pattern: its category, language and weight."""

    category: str
    language: str
    weight: float
    regex: re.Pattern[str]
    triggers: frozenset[str] | None = None  # `steerwise.guardrails.triggers`


@dataclass(frozen=True)
class PatternMatch:
    """A pattern found in one view of a text, at original offsets."""

    pattern: InjectionPattern
    start: int
    end: int
    transforms: tuple[str, ...]


def _phrase(category: str, language: str, weight: float, source: str) -> InjectionPattern:
    body = source.replace(" ", _JOIN).replace("~", _WORDS)
    return _pattern(category, language, weight, re.compile(r"(?<![^\W_])" + body))


def _raw(category: str, weight: float, source: str) -> InjectionPattern:
    return _pattern(category, "*", weight, re.compile(source, re.MULTILINE))


def _pattern(
    category: str, language: str, weight: float, regex: re.Pattern[str]
) -> InjectionPattern:
    return InjectionPattern(category, language, weight, regex, triggers(regex.pattern, regex.flags))


_OVERRIDE = "instruction_override"
_ROLE = "role_play"
_FAKE = "fake_system_message"
_LEAK = "prompt_leak"
_ENCODED = "encoded_payload"

_EN_VERB = (
    r"(?:ignor(?:e|ing)|disregard(?:ing)?|forget|skip|override|bypass|drop|abandon|discard"
    r"|neglect|overlook|set aside|throw away|stop following|do not follow|don'?t follow)"
)
_EN_PRIOR = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|system|your|all"
    r"|every|any)"
)
_EN_OBJECT = (
    r"(?:instructions?|directions?|directives?|rules|guidelines|prompts?|commands|orders"
    r"|tasks|assignments|programming|guardrails|policies|constraints|restrictions|context"
    r"|training)"
)
_DE_VERB = (
    r"(?:ignorier(?:e|en|t|st)?(?: sie)?|vergiss|vergessen sie|missachte(?:n sie)?"
    r"|ubergeh(?:e|en sie)?|verwirf|verwerfen sie|hor(?:e|en sie)? nicht auf)"
)
_DE_PRIOR = (
    r"(?:vorherige|bisherige|obige|vorangehende|vorangegangene|vorige|fruhere|ursprungliche"
    r"|alle|deine|ihre)[nmsr]?"
)
_DE_OBJECT = (
    r"(?:anweisung(?:en)?|befehle|instruktionen|aufgaben|auftrage|regeln|vorgaben|richtlinien"
    r"|angaben|informationen|prompts?|ausfuhrungen)"
)
_FR_VERB = (
    r"(?:ignore[zrs]?|oublie[zrs]?|neglige[zr]?|ne tiens pas compte d|ne tenez pas compte d"
    r"|fais abstraction d|faites abstraction d|abandonne[zr]?|laisse[zr]? tomber)"
)
_FR_PRIOR = r"(?:precedente?s?|anterieure?s?|ci-dessus|d'avant|initiale?s?|toute?s?|vos|tes)"
_FR_OBJECT = r"(?:instructions?|consignes?|regles|directives?|ordres|commandes|taches|prompts?)"
_ES_VERB = (
    r"(?:ignora[rd]?|ignore[ns]?|olvida[rd]?|olvide[ns]?|olvidate de|descarta[rd]?|omite"
    r"|no (?:sigas|sigan|hagas caso a|hagan caso a|tengas en cuenta))"
)
_ES_PRIOR = r"(?:anteriores|previas|previos|de arriba|iniciales|originales|todas?|todos|tus|sus)"
_ES_OBJECT = (
    r"(?:instrucciones|indicaciones|reglas|directrices|directivas|pautas|consignas|ordenes"
    r"|comandos|tareas|normas)"
)

PATTERNS: tuple[InjectionPattern, ...] = (
    # instruction override
    _phrase(_OVERRIDE, "en", 0.9, rf"{_EN_VERB} ~{_EN_PRIOR} ~{_EN_OBJECT}"),
    _phrase(
        _OVERRIDE,
        "en",
        0.9,
        r"(?:ignore|disregard|forget) (?:about )?(?:everything|all|anything|what)"
        r" ~(?:above|before|said|told|so far|previously|earlier|until now|up to now"
        r"|you know|we (?:discussed|talked))",
    ),
    _phrase(_OVERRIDE, "en", 0.85, r"(?:ignore|disregard) (?:the|everything) above"),
    _phrase(
        _OVERRIDE,
        "en",
        0.85,
        r"(?:ignore|disregard|forget) (?:everything|all|it all) (?:and|then) (?:just |only )?"
        r"~(?:say|output|print|write|tell|respond|reply|answer)",
    ),
    _phrase(
        _OVERRIDE,
        "en",
        0.8,
        r"(?:all )?(?:the )?(?:previous|prior|earlier) (?:information|instructions|context)"
        r" ~(?:is|are|was|were) ~(?:irrelevant|worthless|void|cancelled|canceled|obsolete)",
    ),
    _phrase(_OVERRIDE, "en", 0.6, r"forget (?:about )?everything"),
    _phrase(
        _OVERRIDE,
        "en",
        0.8,
        r"(?:now|here) (?:comes?|follows?) (?:a |some )?new (?:tasks?|instructions?|assignments?)",
    ),
    _phrase(_OVERRIDE, "en", 0.75, r"new (?:instructions?|directives?|rules) ?:"),
    _phrase(
        _OVERRIDE,
        "en",
        0.85,
        r"(?:change|override|update|replace|reset) (?:your|the|all) (?:system )?"
        r"(?:instructions|prompt|rules|directives|programming)",
    ),
    _phrase(
        _OVERRIDE,
        "en",
        0.8,
        r"(?:do not|don'?t) (?:answer|respond to|reply to|look (?:at|in)) (?:this|the)"
        r" ~(?:question|documents?|articles?|context)s? ~(?:but|instead|just)",
    ),
    _phrase(
        _OVERRIDE,
        "en",
        0.75,
        r"(?:answer|respond|reply) (?:by|from|with|using) your own knowledge ~not",
    ),
    _phrase(
        _OVERRIDE,
        "en",
        0.75,
        r"(?:disregard(?:ing)?|ignor(?:e|ing)|regardless of) (?:all )?(?:the )?(?:provided )?"
        r"(?:articles|documents|sources|context)",
    ),
    _phrase(_OVERRIDE, "en", 0.55, r"from now on,? (?:you|your|respond|answer|reply|only)"),
    _phrase(
        _OVERRIDE,
        "*",
        0.8,
        r"(?:note|message|instructions?|attention|hinweis|nachricht|remarque|nota|mensaje)"
        r" (?:to|for|an|fur|a|pour|para) (?:the |das |die |den |el |la |le |l')?"
        r"(?:ai |ki |ia )?(?:ai|ki|ia|assistant|assistent|asistente|assistente|chatbot|llm"
        r"|language model|sprachmodell|modelo|modele)(?: ia| ki| de ia)?\s*:",
    ),
    _phrase(_OVERRIDE, "de", 0.9, rf"{_DE_VERB} ~{_DE_PRIOR} ~{_DE_OBJECT}"),
    _phrase(
        _OVERRIDE,
        "de",
        0.85,
        rf"{_DE_PRIOR} ~{_DE_OBJECT} ~(?:ignorieren|vergessen|missachten|ubergehen)",
    ),
    _phrase(_OVERRIDE, "de", 0.85, r"(?:vergiss|vergessen sie) (?:alles|alle)"),
    _phrase(
        _OVERRIDE,
        "de",
        0.85,
        r"abweichend (?:zu|von) (?:den )?(?:vorherigen|bisherigen) ~(?:instruktionen|anweisungen)",
    ),
    _phrase(
        _OVERRIDE,
        "de",
        0.8,
        r"(?:nun|jetzt) (?:folgen|folgt|kommt|kommen) (?:eine )?neue"
        r" (?:aufgaben?|anweisungen?|auftrage?)",
    ),
    _phrase(_OVERRIDE, "de", 0.75, r"neue (?:anweisungen?|instruktionen|regeln) ?:"),
    _phrase(
        _OVERRIDE,
        "de",
        0.8,
        r"(?:alle )?(?:bisherigen|vorherigen|fruheren) (?:informationen|anweisungen|angaben)"
        r" ~ ~(?:sind|waren) ~(?:irrelevant|unwichtig|ungultig|wertlos|hinfallig)",
    ),
    _phrase(
        _OVERRIDE,
        "de",
        0.65,
        r"ab (?:jetzt|sofort|nun),? (?:bist du|wirst du|antwortest du|sollst du|musst du)",
    ),
    _phrase(_OVERRIDE, "fr", 0.9, rf"{_FR_VERB} ~{_FR_PRIOR} ~{_FR_OBJECT}"),
    _phrase(_OVERRIDE, "fr", 0.9, rf"{_FR_VERB} ~{_FR_OBJECT} ~{_FR_PRIOR}"),
    _phrase(_OVERRIDE, "fr", 0.85, r"oublie[zr]? tout (?:ce que|ce qui|avant|le reste)"),
    _phrase(_OVERRIDE, "fr", 0.65, r"oublie[zr]? tout"),
    _phrase(
        _OVERRIDE,
        "fr",
        0.65,
        r"(?:a partir de maintenant|desormais|dorenavant),? (?:tu|vous)"
        r" (?:es|etes|vas|allez|dois|devez|repondras|repondrez)",
    ),
    _phrase(_OVERRIDE, "fr", 0.75, r"nouvelles? (?:instructions?|consignes?) ?:"),
    _phrase(_OVERRIDE, "es", 0.9, rf"{_ES_VERB} ~{_ES_PRIOR} ~{_ES_OBJECT}"),
    _phrase(_OVERRIDE, "es", 0.9, rf"{_ES_VERB} ~{_ES_OBJECT} ~{_ES_PRIOR}"),
    _phrase(
        _OVERRIDE,
        "es",
        0.85,
        r"olvid(?:a|e|ate|en|ad)? (?:de )?todo (?:lo )?(?:que|anterior|antes)",
    ),
    _phrase(_OVERRIDE, "es", 0.65, r"olvid(?:a|e|ate|en|ad)? todo"),
    _phrase(
        _OVERRIDE,
        "es",
        0.65,
        r"(?:a partir de ahora|desde ahora|de ahora en adelante),?"
        r" (?:eres|seras|vas a|debes|tienes que|responde)",
    ),
    _phrase(_OVERRIDE, "es", 0.75, r"nuevas? (?:instrucciones|ordenes|reglas) ?:"),
    _phrase(
        _OVERRIDE, "it", 0.8, r"(?:ignora|dimentica|trascura)(?:re|te)? ~(?:istruzioni|regole)"
    ),
    _phrase(_OVERRIDE, "it", 0.75, r"dimentica(?:te)? tutto"),
    _phrase(
        _OVERRIDE,
        "pt",
        0.8,
        r"(?:ignore|ignora|esqueca|esquece|desconsidere) ~(?:instrucoes|regras|orientacoes)",
    ),
    _phrase(_OVERRIDE, "pt", 0.75, r"esquec[ae] tudo"),
    _phrase(_OVERRIDE, "nl", 0.8, r"(?:negeer|vergeet) ~(?:instructies|regels|opdrachten)"),
    _phrase(_OVERRIDE, "nl", 0.75, r"vergeet alles"),
    _phrase(
        _OVERRIDE,
        "pl",
        0.8,
        r"(?:zignoruj|zapomnij|ignoruj) ~(?:instrukcje|polecenia|zasady|wszystko)",
    ),
    _phrase(
        _OVERRIDE,
        "ru",
        0.8,
        r"(?:забудь|игнорируй|проигнорируй)(?:те)? ~(?:инструкции|указания|правила|все)",
    ),
    _phrase(
        _OVERRIDE,
        "hr",
        0.8,
        r"(?:zaboravi|ignoriraj|ignorisi) ~(?:instrukcije|upute|uputstva|pravila|sve)",
    ),
    # role play and jailbreak personas
    _phrase(
        _ROLE,
        "en",
        0.9,
        r"(?:enable|activate|enter|switch to|you are in|now in) ~(?:developer|dan|god"
        r"|jailbreak|unrestricted|debug) mode",
    ),
    _phrase(_ROLE, "*", 0.85, r"do anything now|dan mode|developer mode enabled"),
    _phrase(
        _ROLE,
        "en",
        0.9,
        r"(?:you are|you're|act as|pretend to be|become) (?:now )?(?:dan|an? (?:evil|unfiltered"
        r"|uncensored|unrestricted|amoral|unethical|jailbroken) ~(?:ai|assistant|chatbot|model"
        r"|version))",
    ),
    _phrase(
        _ROLE,
        "en",
        0.85,
        r"(?:you|ai|assistant|model|chatbot) ~(?:without|with no|free (?:of|from)|no longer"
        r" bound by|not bound by) (?:any )?~(?:restrictions|limitations|filters|censorship"
        r"|ethics|guidelines|policies)",
    ),
    _phrase(
        _ROLE,
        "en",
        0.6,
        r"(?:you are|you're) (?:now|no longer|from now on) ~(?:a|an|my|the|called|named)\b",
    ),
    _phrase(_ROLE, "en", 0.6, r"pretend (?:to be|you are|you're|that you|you can|you have)"),
    _phrase(_ROLE, "en", 0.6, r"i want you to act as"),
    _phrase(
        _ROLE, "en", 0.5, r"(?:act|behave|respond|answer|talk|speak) (?:as|like) (?:a|an|if)\b"
    ),
    _phrase(
        _ROLE,
        "en",
        0.7,
        r"(?:role-?play(?:ing)? as|play the role of|stay in (?:character|role)"
        r"|(?:never|don'?t|do not) break character)",
    ),
    _phrase(_ROLE, "en", 0.5, r"imagine (?:you are|you're|that you are)"),
    _phrase(
        _ROLE,
        "de",
        0.65,
        r"(?:du bist|sie sind) (?:jetzt|nun|ab jetzt|ab sofort|von nun an)"
        r" (?:ein|eine|der|die|mein|dan|keine?)\b",
    ),
    _phrase(
        _ROLE, "de", 0.55, r"stell(?:e|en sie)? (?:dir|sich) vor,? (?:du bist|sie sind|du warst)"
    ),
    _phrase(_ROLE, "de", 0.6, r"tu(?:e|n sie)? so,? als (?:ob|warst|waren)"),
    _phrase(
        _ROLE, "de", 0.6, r"(?:ich mochte|ich will),? dass (?:sie|du) als ~(?:fungier|agier|handel)"
    ),
    _phrase(_ROLE, "de", 0.5, r"(?:agiere|fungiere|handle) als"),
    _phrase(
        _ROLE,
        "de",
        0.7,
        r"(?:spiel(?:e|en sie)? die rolle|bleib(?:e|en sie)? in (?:deiner|ihrer|der) rolle)",
    ),
    _phrase(_ROLE, "de", 0.85, r"(?:entwicklermodus|dan-modus)"),
    _phrase(
        _ROLE,
        "fr",
        0.65,
        r"(?:tu es|vous etes) (?:maintenant|desormais|a present) (?:un|une|le|la|mon|ma|dan)\b",
    ),
    _phrase(_ROLE, "fr", 0.6, r"fai(?:s|tes) semblant (?:d'etre|que|de)"),
    _phrase(_ROLE, "fr", 0.5, r"(?:fai(?:s|tes) comme si|imagine[zs]? que (?:tu es|vous etes))"),
    _phrase(_ROLE, "fr", 0.5, r"(?:agis|agissez|comporte-toi|comportez-vous) comme"),
    _phrase(
        _ROLE,
        "fr",
        0.7,
        r"(?:jou(?:e|ez) le role|reste[zs]? dans (?:ton|votre|le) (?:role|personnage))",
    ),
    _phrase(_ROLE, "fr", 0.85, r"mode developpeur"),
    _phrase(_ROLE, "es", 0.65, r"(?:ahora|a partir de ahora|desde ahora) eres"),
    _phrase(_ROLE, "es", 0.6, r"fing(?:e|ir|e que) (?:ser|que|eres)"),
    _phrase(_ROLE, "es", 0.5, r"(?:haz de cuenta|haz como si|imagina que eres|actua como)"),
    _phrase(
        _ROLE,
        "es",
        0.7,
        r"(?:interpreta el papel|juega el papel|(?:mantente|quedate) en (?:tu )?(?:papel"
        r"|personaje))",
    ),
    _phrase(_ROLE, "es", 0.85, r"modo desarrollador"),
    # fake system, tool or chat-template messages
    _raw(_FAKE, 0.95, r"<\|?\s*im_start\s*\|?>\s*(?:system|assistant)"),
    _raw(
        _FAKE,
        0.9,
        r"<\|(?:system|im_end|endoftext|assistant|eot_id|start_header_id|begin_of_text)\|>",
    ),
    _raw(_FAKE, 0.85, r"^[ \t>]*#{1,6}[ \t]*(?:system|assistant|developer)\b[ \t]*:?"),
    _raw(
        _FAKE,
        0.85,
        r"\[\s*/?\s*(?:system|inst|sys|tool(?:[ _](?:result|output|response|call))?"
        r"|function(?:[ _](?:result|output))?|assistant|admin)\s*\]",
    ),
    _raw(_FAKE, 0.9, r"<<\s*/?\s*sys\s*>>"),
    _raw(_FAKE, 0.75, r"</?\s*(?:system|system_prompt|sys_prompt|admin)\s*>"),
    _raw(
        _FAKE,
        0.85,
        r"\b(?:system|developer|admin) (?:message|prompt|note|override|update|instruction)s?\s*:",
    ),
    _raw(_FAKE, 0.6, r"^[ \t>]*(?:system|developer)\s*:"),
    _raw(_FAKE, 0.85, r"\"role\"\s*:\s*\"(?:system|developer)\""),
    _raw(
        _FAKE,
        0.8,
        r"\b(?:end|begin|start) of (?:the )?(?:system|user|tool) (?:prompt|message|input|output"
        r"|instructions?)",
    ),
    _raw(_FAKE, 0.8, r"(?:={3,}|-{3,}|\*{3,})\s*(?:end|begin|new|system)\b"),
    _raw(
        _FAKE,
        0.8,
        r"\b(?:systemnachricht|systemanweisung|systemhinweis|message (?:du )?systeme"
        r"|mensaje del sistema|instruccion del sistema|nota del sistema)\s*:",
    ),
    # leaking the prompt
    _phrase(
        _LEAK,
        "en",
        0.85,
        r"(?:show|print|reveal|repeat|output|display|tell|give|write|list|leak|dump|return|share"
        r"|copy|spell) (?:me |us )?~(?:your|the|all|its) ~(?:system|initial|original|hidden"
        r"|secret|internal|full|first|above|previous) ~(?:prompts?|instructions|messages?"
        r"|texts?)",
    ),
    _phrase(
        _LEAK,
        "en",
        0.8,
        r"(?:show|print|reveal|repeat|output|display|tell|give|write|list|leak|dump|return|share)"
        r" (?:me |us )?(?:all )?your (?:prompts?|instructions|rules|guidelines|configuration"
        r"|embeddings|training data)",
    ),
    _phrase(
        _LEAK,
        "en",
        0.8,
        r"what (?:are|were|is) your (?:initial |original |system |first |hidden )?"
        r"(?:instructions|rules|prompt|directives)",
    ),
    _phrase(
        _LEAK,
        "en",
        0.75,
        r"what (?:was|is|were) (?:written|said|the text|the first (?:sentence|line|words?))"
        r" ~(?:above|before|at the (?:beginning|start|top))",
    ),
    _phrase(
        _LEAK,
        "en",
        0.8,
        r"(?:spell ?-?check|proofread|repeat|print|output) ~(?:text|prompt|everything"
        r"|instructions) ~above",
    ),
    _phrase(
        _LEAK,
        "en",
        0.75,
        r"(?:print|output|repeat) ~(?:the )?(?:above|previous|initial|original) prompt",
    ),
    _phrase(
        _LEAK,
        "de",
        0.8,
        r"(?:zeig|zeige|zeigen sie|gib|geben sie|nenn|nennen sie|verrat|verrate|verraten sie"
        r"|wiederhole|wiederholen sie) (?:mir )?~(?:deine|ihre)"
        r" ~(?:anweisungen|instruktionen|regeln|vorgaben|prompts?)",
    ),
    _phrase(
        _LEAK,
        "de",
        0.8,
        r"(?:zeig|gib|druck|wiederhol|verrat|nenn|schreib)(?:e|en sie)? (?:mir )?~"
        r"(?:prompt-?texte?|systemprompt|system-prompt|systemnachricht|eingabeaufforderung)",
    ),
    _phrase(
        _LEAK,
        "de",
        0.8,
        r"wie (?:lauten|lauteten|waren) (?:deine|ihre) ~(?:anweisungen|instruktionen)",
    ),
    _phrase(_LEAK, "de", 0.6, r"was steht (?:oben|am anfang|ganz oben)"),
    _phrase(
        _LEAK,
        "de",
        0.75,
        r"(?:wiederhole|wiederholen sie|gib|geben sie|drucke|drucken sie) ~(?:alles|den text)"
        r" ~(?:oben|uber|daruber|davor)",
    ),
    _phrase(
        _LEAK,
        "fr",
        0.8,
        r"(?:montre|affiche|revele|repete|donne|ecris|imprime|dis)[sz]?(?:-moi| moi)?"
        r" ~(?:tes|vos|ton|votre) ~(?:prompts?|instructions|consignes|regles)",
    ),
    _phrase(_LEAK, "fr", 0.8, r"quelles (?:sont|etaient) (?:tes|vos) ~(?:instructions|consignes)"),
    _phrase(
        _LEAK,
        "fr",
        0.8,
        r"(?:montre|affiche|revele|repete|donne|ecris|imprime)[sz]?(?:-moi| moi)? ~"
        r"(?:prompt|message|invite) (?:du )?systeme",
    ),
    _phrase(
        _LEAK,
        "fr",
        0.75,
        r"(?:repete|affiche|imprime|recopie)[sz]? ~(?:tout|texte) ~(?:ci-dessus|au-dessus)",
    ),
    _phrase(
        _LEAK,
        "es",
        0.8,
        r"(?:muestra|muestrame|revela|revelame|repite|dime|imprime|escribe|dame)"
        r" ~(?:tus|sus) ~(?:instrucciones|indicaciones|prompts?|reglas)",
    ),
    _phrase(_LEAK, "es", 0.8, r"cuales (?:son|eran) (?:tus|sus) ~(?:instrucciones|indicaciones)"),
    _phrase(
        _LEAK,
        "es",
        0.8,
        r"(?:muestra|muestrame|revela|revelame|repite|imprime|escribe|dame) ~"
        r"(?:prompt|mensaje) del sistema",
    ),
    _phrase(
        _LEAK,
        "es",
        0.75,
        r"(?:repite|muestra|imprime|copia) ~(?:todo|texto) ~(?:arriba|encima)",
    ),
    # encoded payloads
    _phrase(
        _ENCODED,
        "en",
        0.8,
        r"(?:decode|decipher|translate|convert) ~(?:this|the following|it|base ?64|hex|rot ?13"
        r"|binary) ~(?:and|then) ~(?:follow|execute|do|run|obey|act on)",
    ),
    _phrase(
        _ENCODED,
        "en",
        0.8,
        r"(?:follow|execute|obey|run) ~(?:decoded|base ?64|hex|encoded)"
        r" ~(?:text|instructions?|message|command|payload)",
    ),
    _phrase(
        _ENCODED,
        "de",
        0.8,
        r"(?:dekodiere|entschlussele|decodiere)(?:n sie)? ~(?:und|dann) ~(?:befolge|fuhre)",
    ),
    _phrase(
        _ENCODED, "fr", 0.8, r"(?:decode|dechiffre)[zr]? ~(?:et|puis) ~(?:suis|suivez|execute)"
    ),
    _phrase(
        _ENCODED,
        "es",
        0.8,
        r"(?:decodifica|descifra) ~(?:y|luego) ~(?:sigue|ejecuta|obedece)",
    ),
)


def find_in_view(view: NormalisedText) -> list[PatternMatch]:
    """Every pattern match in one view, at original offsets, strongest first per place
    (a pattern none of whose trigger fragments begins a word of the view is not run)."""
    found = []
    starts = WordStarts(view.text)
    for pattern in PATTERNS:
        if not starts.may_match(pattern.triggers):
            continue
        for match in pattern.regex.finditer(view.text):
            start, end = view.original_span(*match.span())
            transforms = tuple(view.transforms(*match.span()))
            found.append(PatternMatch(pattern, start, end, transforms))
    return found


def find_patterns(text: str) -> list[PatternMatch]:
    """Every pattern match in `text` and in its decoded payloads, by position."""
    found = [match for view in views(text) for match in find_in_view(view)]
    return sorted(found, key=lambda match: (match.start, -match.pattern.weight))


def pattern_score(matches: Iterable[PatternMatch]) -> float:
    """Noisy-OR of each category's strongest match: two kinds of evidence add up."""
    strongest: dict[str, float] = {}
    for match in matches:
        category = match.pattern.category
        strongest[category] = max(strongest.get(category, 0.0), match.pattern.weight)
    remaining = 1.0
    for weight in strongest.values():
        remaining *= 1.0 - weight
    return 1.0 - remaining


def describe(match: PatternMatch) -> str:
    """A reason that names the category, language and transformations, not the text."""
    pattern = match.pattern
    reason = f"{pattern.category.replace('_', ' ')} pattern ({LANGUAGES[pattern.language]})"
    if match.transforms:
        reason += ", found after " + ", ".join(match.transforms)
    return reason
