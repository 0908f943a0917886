"""Inbound replies: does a text (or an email reply) revoke consent, grant it, ask for help, or none of these?

Pure Python: no ``import frappe``. The adapters read the site's own words from the settings and pass them
in as a :class:`Vocabulary`.

The law behind it. The FCC's Report and Order FCC 24-24 (adopted 15 February 2024; the revocation rules in
force from 11 April 2025) amended 47 CFR 64.1200:

- 64.1200(a)(10): a called party may revoke consent by any reasonable means. A reply to a text using the
  words "stop", "quit", "end", "revoke", "opt out", "cancel" or "unsubscribe" is a per se reasonable
  revocation (:data:`FCC_REVOCATION_WORDS`). Other words a reasonable person would understand as a
  revocation count too, and a sender that cannot read them bears the burden of showing they were not
  one. A revocation must be honoured within 10 business days.
- 64.1200(a)(12): one text confirming the revocation may be sent, within 5 minutes of it.

So the classifier errs toward revocation. What it reads:

- A message that is nothing but revocation keywords (the FCC words, ``stopall``/``stop all``/``optout``,
  the built-in Spanish words such as ``alto``, ``baja``, ``no más``, and the site's own revocation words),
  with polite padding ("please", "now", "me", "thanks", "por favor", "ya", "gracias"...), repetition
  ("stop stop stop"), any case, punctuation, emoji, accents or stretched letters ("STOPPPP!!!") is a
  revocation, ``certain``: no person need look.
- A plain-language revocation ("stop texting me", "take me off your list", "wrong number", "no me
  escriban"), an FCC word used as a command inside a longer message, a misspelt keyword ("stpo",
  "unsubscibe"), or mixed signals ("yes stop") is a revocation too, applied at once but ``certain`` False:
  flagged for a person to review.
- An FCC word in ordinary speech is not: "I'll stop by", "the bus stop", "end of the month", "the
  weekend", "quit my job", "cancel my appointment", "stop the autopay". Matching is by whole word, never
  by substring ("extend", "friend", "stopwatch", "stopped" are other words). The line is drawn at the
  object: "stop"/"cancel" followed (within a few words) by something that is not a message (an
  appointment, a payment, a plan, a fee) and no message noun ("texts", "calls", "reminders") is ordinary
  speech; otherwise the word is a command and revokes. "Cancel my appointment? No, just reschedule" is
  therefore not a revocation, nor is an echoed question declined ("Cancel? No"). Spanish words that are
  also ordinary words ("para" = for, "alto" = high, "fin de mes", "salir", "baja") revoke alone, but inside
  a sentence only in a revoking phrase ("para de escribir", "dar de baja", "alto a los mensajes").
- Consent is never granted by free text: :data:`OPT_IN` only for a message that is exactly one opt-in
  keyword (``start``, ``yes``, ``unstop``, or the site's), in any case and with punctuation or emoji,
  nothing else ("yes please" is :data:`OTHER`). There is no built-in Spanish opt-in word ("sí" answers
  too many questions); a site whose wording asks for "SI" adds it to its own opt-in words.
- :data:`HELP` only for a message that is nothing but help keywords (``help``, ``info``, ``ayuda``, or the
  site's), with padding. "Help" inside a sentence is :data:`OTHER`.
- A revocation wins over everything else in the message.

``certain`` is True for a revocation, opt-in or help that is a keyword alone; False for a flagged
revocation, and for :data:`OTHER` (nothing was recognised: the message may be worth a person's reading).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from opt_consent.model.messages import Refused, _

REVOCATION = "revocation"
OPT_IN = "opt_in"
HELP = "help"
OTHER = "other"
KINDS = (REVOCATION, OPT_IN, HELP, OTHER)

TEXT = "Text"
EMAIL = "Email"

# 47 CFR 64.1200(a)(10): the words that revoke per se.
FCC_REVOCATION_WORDS: tuple[str, ...] = ("stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe")

# Keywords that revoke when they are the whole message (with padding). Normalised spelling.
ENGLISH_REVOCATION_KEYWORDS: tuple[str, ...] = (
	*FCC_REVOCATION_WORDS,
	"optout",
	"stopall",
	"stop all",
	"opt me out",
	"unsubscribe all",
	"cancel all",
	"end all",
	"quit all",
)
SPANISH_REVOCATION_KEYWORDS: tuple[str, ...] = (
	"alto",
	"parar",
	"para",
	"pare",
	"paren",
	"baja",
	"de baja",
	"dar de baja",
	"darme de baja",
	"denme de baja",
	"cancelar",
	"detener",
	"no mas",
	"basta",
	"fin",
	"salir",
	"anular",
	"desuscribir",
	"desuscribirme",
	"desuscribirse",
)
OPT_IN_KEYWORDS: tuple[str, ...] = ("start", "yes", "unstop")
HELP_KEYWORDS: tuple[str, ...] = ("help", "info")
SPANISH_HELP_KEYWORDS: tuple[str, ...] = ("ayuda",)

# Words that may surround a keyword without changing it ("stop please", "ALTO POR FAVOR", "stop now!!").
PADDING = frozenset(
	"please pls plz plse pleas pleez plez kindly now asap immediately already just me thanks thank you thx "
	"tnx ty thankyou right away ok okay k sir maam madam lol omg ugh hey hi hello again "
	"por favor porfa porfavor xfa pf favor ya ahora gracias muchas mil hola señor senor señora senora "
	"oiga inmediatamente".split()
)

# Misspellings read as the keyword, flagged for review (the message is not the keyword as written).
TYPOS = {
	"stp": "stop",
	"stpo": "stop",
	"sotp": "stop",
	"tsop": "stop",
	"stopp": "stop",
	"sstop": "stop",
	"stoo": "stop",
	"atop": "stop",
	"stpp": "stop",
	"endd": "end",
	"edn": "end",
	"quitt": "quit",
	"qiut": "quit",
	"quti": "quit",
	"cancle": "cancel",
	"cancell": "cancel",
	"cancal": "cancel",
	"cancek": "cancel",
	"cansel": "cancel",
	"revok": "revoke",
	"revoek": "revoke",
	"optuot": "optout",
	"otpout": "optout",
	"altoo": "alto",
	"cancelr": "cancelar",
	"canselar": "cancelar",
	"cancelat": "cancelar",
	"unscribe": "unsubscribe",
	"unsuscribe": "unsubscribe",
}

_MAX_WORD = 140

# --- normalising -------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans("", "", "'’‘`´ʼ")
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_RUN3 = re.compile(r"(.)\1{2,}")
_LETTER = re.compile(r"[^\W\d_]")
# "Cancel? No": an FCC word echoed as a question and declined. A marker token follows the word.
_ECHO = "zzq"
_ECHOED = re.compile(r"\b(stop|end|quit|cancel|cancelar)\s*\?+[\W_]*(no|nope|nah|nop)\b")


def _fold(text: str) -> str:
	"""NFKC, case folded, accents stripped, apostrophes dropped ("don't" -> "dont")."""
	folded = unicodedata.normalize("NFKC", text).casefold()
	decomposed = unicodedata.normalize("NFD", folded)
	return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_APOSTROPHES)


def normalise(text: str | None) -> str:
	"""The words of ``text`` as the classifier matches them: folded, one space between words, punctuation,
	emoji and symbols gone, stretched letters and known misspellings put right."""
	return " ".join(token for token, _typo in _tokens(text or ""))


def _tokens(text: str) -> list[tuple[str, bool]]:
	"""(word, misspelt) pairs."""
	folded = _ECHOED.sub(r"\1 " + _ECHO + r" \2", _fold(text)).replace("#", " number ")
	return [_canon(token) for token in _TOKEN.findall(folded)]


def _damerau(a: str, b: str) -> int:
	"""Optimal string alignment distance."""
	previous2: list[int] = []
	previous = list(range(len(b) + 1))
	for i in range(1, len(a) + 1):
		current = [i] + [0] * len(b)
		for j in range(1, len(b) + 1):
			cost = 0 if a[i - 1] == b[j - 1] else 1
			current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
			if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
				current[j] = min(current[j], previous2[j - 2] + 1)
		previous2, previous = previous, current
	return previous[len(b)]


@functools.lru_cache(maxsize=8192)
def _canon(token: str) -> tuple[str, bool]:
	if token in _KNOWN:
		return token, False
	if token in TYPOS:
		return TYPOS[token], True
	if _RUN3.search(token):
		collapsed = (_RUN3.sub(r"\1\1", token), _RUN3.sub(r"\1", token))
		for candidate in collapsed:
			if candidate in _KNOWN:
				return candidate, False
		for candidate in collapsed:
			if candidate in TYPOS:
				return TYPOS[candidate], True
	if 8 <= len(token) <= 14 and token[:2] == "un" and _damerau(token, "unsubscribe") <= 2:
		return "unsubscribe", True
	return token, False


# --- what the words mean -------------------------------------------------------------------------------

# Nouns for the messages themselves: "stop the reminders" revokes, "stop the payment" does not.
_MESSAGE_NOUNS = frozenset(
	"text texts texting txt txts txting txtin textin message messages messaging msg msgs msging sms call "
	"calls calling ring ringing email emails emailing mail mails e notification notifications alert alerts "
	"reminder reminders contact contacting spam spamming subscription newsletter newsletters robocall "
	"robocalls mensaje mensajes textos texto llamada llamadas llamar correo correos notificaciones "
	"notificacion suscripcion envios whatsapp mensajitos".split()
)
# Things one stops, cancels or quits in ordinary speech.
_ORDINARY_OBJECTS = frozenset(
	"appointment appointments appt appts payment payments autopay pay check checks cheque debit debits "
	"draft drafts withdrawal withdrawals charge charges fee fees interest garnishment transfer deduction "
	"deductions plan arrangement agreement promise order orders transaction card meeting visit visits "
	"reservation booking trip flight insurance policy loan application request dispute claim contract "
	"job work working school smoking drinking service "
	"cita citas pago pagos deuda deudas saldo cuenta plan acuerdo orden pedido tarjeta cheque reunion "
	"visita reserva reservacion prestamo factura facturas monto total balance cuota cuotas mensualidad "
	"adeudo credito debo seguro".split()
)
# "stop by", "bus stop", "a stop", "the end", "end of", "end up", "month end".
_STOP_NEXT = frozenset("by in at over sign signs light lights".split()) | {_ECHO}
_STOP_PREV = frozenset(
	"bus a the next last first one pit truck train subway metro full non rest every each final short".split()
)
_END_PREV = frozenset(
	"the an month months week weeks year years day days my your his her our their its rear back "
	"front deep dead far west east north south tail loose odd low high both either other at no upper lower "
	"weeks s fiscal quarter term semester".split()
)
_END_NEXT = frozenset("of up date dates result results user point times".split()) | {_ECHO}
_DETERMINERS = frozenset(
	"the my our your his her their a an this that these those all any late auto automatic monthly recurring "
	"next weekly upcoming el la los las mi mis su sus un una este esta todo toda todos lo que de".split()
)
_ALWAYS = frozenset("revoke unsubscribe optout stopall unsub".split())
_COMMANDS_EN = frozenset("stop end quit cancel".split())
_COMMANDS_ES = frozenset("cancelar cancelen detener detengan anular anulen".split())

_NOUN = (
	r"(?:text messages?|texts?|txts?|texting|txting|messages?|msgs?|messaging|sms|phone calls?|calls?|calling"
	r"|e ?mails?|e ?mailing|notifications?|alerts?|reminders?|robocalls?|spam)"
)
_ME = r"(?:me|us|this|my|again|anymore|any more|ever|here|at|no more|after|before|during|on|until|till|$)"
_ENGLISH_PHRASES = (
	r"\b(?:do not|dont|don t|never|no longer) (?:ever )?(?:again )?(?:text|txt|call|contact|message|msg|e ?mail"
	r"|sms|bother|reach|write|ring|phone|harass|spam)(?:ing)? " + _ME,
	r"\b(?:do not|dont|don t|never|no longer) (?:ever )?(?:text|txt|call|contact|message|msg|email|sms)$",
	r"\b(?:do not|dont|never|no longer) send (?:me )?(?:any )?(?:more )?(?:of )?(?:these |those |your |the "
	r"|this |ur )?" + _NOUN,
	r"\b(?:do not|dont|don t|no longer|never) (?:want|wish|need|like)\b(?: \w+){0,4} " + _NOUN + r"\b",
	r"\b(?:do not|dont|no longer) (?:want|wish) to be (?:contacted|called|texted|messaged|emailed|bothered)",
	r"\bnot (?:want|wish) (?:to )?(?:get|receive|be getting) (?:any )?(?:more )?(?:of )?(?:these |your "
	r"|the )?" + _NOUN,
	r"\bno (?:more|further|longer) " + _NOUN,
	r"\b(?:take|get|cross|scratch|drop|leave) (?:me|us|my number|this number|my name|my info) (?:off|out of"
	r"|from)\b(?! (?:the |my |your )?(?:auto ?pay|autopay|payments?|plan|schedule|program)\b)",
	r"\b(?:remove|delete|erase|unlist|unenroll|unregister|lose|forget|block) (?:me|us|my (?:cell |phone "
	r")?(?:number|name|phone|cell|info|information|e ?mail|address|contact|details|data)|this (?:number|phone"
	r"|email)|(?:the|your|ur) number)\b(?! (?:off |from )(?:the |my |your )?(?:auto ?pay|autopay|payments?"
	r"|plan|schedule|program)\b)",
	r"\bblock(?:ing|ed)? (?:you|u|this number|your number|ur number)\b",
	r"\bwrong (?:number|person|phone|cell|guy|girl|lady|man|name|people)\b",
	r"\bno (?:one|body) (?:here )?(?:by|with|named) (?:that|this|the) name\b",
	r"\bleave (?:me|us) alone\b",
	r"\bgo away\b",
	r"\b(?:fuck|f|piss|buzz|bugger|sod|f ck|fk|fck) off\b",
	r"\bget lost\b",
	r"\bnot interested\b(?! in\b)",
	r"\bno longer interested\b",
	r"\bharass(?:ing|ment|ed)?\b",
	r"\b(?:cease|desist)\b",
	r"\bunsubscrib(?:ed|ing)\b",
	r"\bopt(?:ed|ing)? (?:me |us )?out\b",
	r"\bopting out\b",
	r"\bspamming\b",
	r"\b(?:withdraw|withdrawing|rescind|retract|revoking|revoke|cancel|cancelling) (?:my |all |any |of |the )*"
	r"(?:consent|permission|authorization|authorisation)\b",
	r"\b(?:do not|dont|no longer|never) consent\b",
	r"\b(?:remove|take|get) (?:me |my number |my email )?(?:from|off) (?:the |your |this |ur |all )*(?:list"
	r"|lists|texting list|text list|calling list|call list|contact list|database|system)\b",
	r"\bremove$",
)
_ENGLISH_WHOLE = (r"^no " + _NOUN + r"$", r"^(?:spam|remove|unsub|cease|desist|remove me|delete)$")

_ES_NOUN = (
	r"(?:mensajes?|mensajitos|textos?|llamadas?|correos?|emails?|sms|notificaciones|notificacion|whatsapps?"
	r"|spam|publicidad)"
)
_SPANISH_PHRASES = (
	r"\bno me (?:vuelvan a |vuelvas a |vuelva a |)(?:escriban|escribas|escriba|escribir|llamen|llames|llame"
	r"|llamar|manden|mandes|mande|envien|envies|envie|contacten|contactes|contacte|molesten|molestes|moleste"
	r"|texteen|textees|mensajeen|busquen)\b",
	r"\b(?:no|ya no|nunca) (?:quiero|deseo|necesito|queremos) (?:recibir |seguir recibiendo |que me )?(?:mas "
	r")?(?:sus |estos |tus |los |las |esos |ningun |ningunos |mas )*(?:" + _ES_NOUN[3:-1] + r"|escriban"
	r"|llamen|manden|contacten)\b",
	r"\bno mas " + _ES_NOUN,
	r"\b(?:dejen|deja|deje|dejar|dejen ya|paren|para|pare|parar|favor de no|dejen por favor) de (?:escribir"
	r"|llamar|mandar|enviar|molestar|textear|contactar|mensajear|buscar)",
	r"\b(?:numero|telefono|celular) equivocado\b",
	r"\bequivocado de numero\b",
	r"\bse equivoca(?:n|ron)? de (?:numero|persona)\b",
	r"\bnumero incorrecto\b",
	r"\b(?:borrar|borren|borra|borre|eliminar|eliminen|elimina|elimine|quiten|quitar|saquen) (?:mi|este|el)"
	r" (?:numero|telefono|contacto|celular|correo)\b",
	r"\b(?:quit|sac|borr|elimin)\w* de (?:la|su|tu|esta|sus|vuestra) (?:lista|base)\b",
	r"\b(?:quitenme|saquenme|borrenme|eliminenme|quitarme|sacarme|borrarme|eliminarme|quiteme|saqueme"
	r"|quitame|sacame)\b",
	r"\bde baja\b",
	r"\b(?:cancelar|cancelen|cancela|cancele|detener|detengan|deten|paren|parar|anular|anulen|suspender"
	r"|suspendan)(?: los| las| sus| estos| mis| el| la| mi| todos los| todas las)? (?:"
	+ _ES_NOUN[3:-1]
	+ r"|suscripcion|envios|contacto)\b",
	r"\bbasta\b(?! con\b)",
	r"\balto (?:a|con) (?:los|las|sus|estos|tanto)\b",
	r"\bdej(?:en|a|e)(?:me|nos) en paz\b",
	r"\bno (?:molesten|molestar|moleste|contactar|llamar|escribir)\b",
	r"\bno me interesa(?:n)?\b(?! (?:el|la|los|las|un|una|ese|esa|pagar|su|tu|si)\b)",
	r"\bsalir de (?:la|su|tu|esta|sus) lista\b",
	r"\b(?:desuscrib|desinscrib|darme de baja|dar de baja)\w*",
	r"\b(?:retiro|revoco|cancelo) (?:mi )?(?:consentimiento|permiso|autorizacion)\b",
	r"\bacoso\b|\bacosando\b|\bacosar\b",
)
_EMAIL_PHRASES = (
	r"\b(?:mailing|email|e mail|distribution|newsletter|marketing) list\b",
	r"\bno (?:more )?(?:e ?mails?|newsletters?|correos)\b",
	r"\b(?:unsubscribe|remove|take) (?:me )?(?:from|off) (?:all |your |the |this )*(?:e ?mails?|newsletters?)",
	r"\b(?:do not|dont|stop) (?:send(?:ing)? (?:me )?)?(?:e ?mails?|e ?mailing)\b",
)


def _compile(patterns: Iterable[str]) -> re.Pattern:
	return re.compile("|".join(f"(?:{p})" for p in patterns))


_ENGLISH = _compile(_ENGLISH_PHRASES)
_ENGLISH_WHOLE_RE = _compile(_ENGLISH_WHOLE)
_SPANISH = _compile(_SPANISH_PHRASES)
_EMAIL_RE = _compile(_EMAIL_PHRASES)

_KNOWN = frozenset(
	word
	for source in (
		*ENGLISH_REVOCATION_KEYWORDS,
		*SPANISH_REVOCATION_KEYWORDS,
		*OPT_IN_KEYWORDS,
		*HELP_KEYWORDS,
		*SPANISH_HELP_KEYWORDS,
		*PADDING,
		*_MESSAGE_NOUNS,
		*_ORDINARY_OBJECTS,
		*_STOP_NEXT,
		*_STOP_PREV,
		*_END_PREV,
		*_END_NEXT,
		*_DETERMINERS,
		*_ENGLISH_PHRASES,
		*_ENGLISH_WHOLE,
		*_SPANISH_PHRASES,
		*_EMAIL_PHRASES,
		"too all off see good will free ll",
	)
	for word in re.findall(r"[a-z]+", source)
)


@dataclass(frozen=True)
class Vocabulary:
	"""A site's own additions to the built-in words (from the settings)."""

	revocation: tuple[str, ...] = ()  # words or phrases that revoke, in any language
	opt_in: tuple[str, ...] = ()  # exact opt-in keywords
	help: tuple[str, ...] = ()  # exact help keywords


@dataclass(frozen=True)
class Reading:
	kind: str  # one of KINDS
	matched: str  # the words that decided, normalised (lower case); "" for OTHER
	certain: bool  # True: no person need look; False: applied (if a revocation) but flagged for review
	language: str | None  # "en", "es", or None (the site's words, or nothing recognised)


NOTHING = Reading(OTHER, "", False, None)


@dataclass(frozen=True)
class _Keywords:
	"""The keyword phrases, as tuples of words, and what each one is."""

	table: dict[tuple[str, ...], tuple[str, str | None]]  # words -> (kind, language)
	longest: int
	site_revocation: re.Pattern | None
	padding: frozenset[str]  # PADDING less the words that are keywords themselves (a site's "pleas")


def _words(phrase: str) -> tuple[str, ...]:
	return tuple(normalise(phrase).split())


@functools.lru_cache(maxsize=64)
def _keywords(site: Vocabulary) -> _Keywords:
	table: dict[tuple[str, ...], tuple[str, str | None]] = {}
	# Lowest precedence first: a phrase both a help and a revocation word ends up a revocation.
	for phrases, kind, language in (
		(site.help, HELP, None),
		(HELP_KEYWORDS, HELP, "en"),
		(SPANISH_HELP_KEYWORDS, HELP, "es"),
		(site.opt_in, OPT_IN, None),
		(OPT_IN_KEYWORDS, OPT_IN, "en"),
		(site.revocation, REVOCATION, None),
		(SPANISH_REVOCATION_KEYWORDS, REVOCATION, "es"),
		(ENGLISH_REVOCATION_KEYWORDS, REVOCATION, "en"),
	):
		for phrase in phrases:
			words = _words(phrase)
			if words:
				table[words] = (kind, language)
	site_words = sorted({" ".join(_words(p)) for p in site.revocation} - {""}, key=len, reverse=True)
	site_re = re.compile(r"\b(?:" + "|".join(map(re.escape, site_words)) + r")\b") if site_words else None
	padding = PADDING - {words[0] for words in table if len(words) == 1}
	return _Keywords(table, max(map(len, table)), site_re, padding)


_BUILT_IN = Vocabulary()


# --- the classifier ------------------------------------------------------------------------------------


def classify(text: str | None, vocabulary: Vocabulary | None = None, channel: str = TEXT) -> Reading:
	"""What an inbound reply means: a :class:`Reading` (see the module's docstring for the rules).

	``channel`` is "Text" (also used for a call's transcript) or "Email"; for an email pass the reply's own
	words (:func:`email_reply_text`).
	"""
	if not text or text.isspace():
		return NOTHING
	keywords = _keywords(vocabulary or _BUILT_IN)
	pairs = _tokens(text)
	if not pairs:
		return NOTHING
	words = [word for word, _typo in pairs]
	misspelt = any(typo for _word, typo in pairs)

	# Exactly one opt-in keyword, as written (no padding, no misspelling).
	entry = keywords.table.get(tuple(words))
	if entry and entry[0] == OPT_IN and not misspelt:
		return Reading(OPT_IN, " ".join(words), True, entry[1])

	core = [word for word in words if word not in keywords.padding]
	if len(core) >= 3 and all(len(word) == 1 for word in core):
		# "S T O P": spelt out, read as one word but flagged.
		core, misspelt = ["".join(core)], True
	found = _keywords_only(core, keywords)
	if found:
		kinds = {kind for _phrase, kind, _language in found}
		revoking = [(phrase, language) for phrase, kind, language in found if kind == REVOCATION]
		if revoking:
			matched = " ".join(dict.fromkeys(phrase for phrase, _language in revoking))
			return Reading(REVOCATION, matched, kinds == {REVOCATION} and not misspelt, revoking[0][1])
		if kinds == {HELP}:
			return Reading(HELP, " ".join(dict.fromkeys(p for p, _k, _l in found)), not misspelt, found[0][2])

	hit = _revocation_in(words, " ".join(words), " ".join(core), keywords, channel)
	if hit:
		return Reading(REVOCATION, hit[0], False, hit[1])
	if channel == EMAIL and "\n" in text.strip():
		# An email whose subject line is the original's and whose body is a keyword alone.
		for line in text.splitlines():
			reading = classify(line, vocabulary, TEXT) if line.strip() else NOTHING
			if reading.kind == REVOCATION:
				return Reading(REVOCATION, reading.matched, False, reading.language)
	return NOTHING


def _keywords_only(core: list[str], keywords: _Keywords) -> list[tuple[str, str, str | None]] | None:
	"""The keyword phrases ``core`` consists of, in order, or None when other words are left over."""
	found = []
	i = 0
	while i < len(core):
		for size in range(min(keywords.longest, len(core) - i), 0, -1):
			phrase = tuple(core[i : i + size])
			entry = keywords.table.get(phrase)
			if entry:
				found.append((" ".join(phrase), *entry))
				i += size
				break
		else:
			return None
	return found or None


def _revocation_in(
	words: list[str], joined: str, core: str, keywords: _Keywords, channel: str
) -> tuple[str, str | None] | None:
	"""The first revocation in free text: (matched, language), or None."""
	hits: list[tuple[int, str, str | None]] = []
	if keywords.site_revocation is not None:
		found = keywords.site_revocation.search(joined)
		if found:
			hits.append((found.start(), found.group(), None))
	for pattern, language in (
		(_ENGLISH, "en"),
		(_SPANISH, "es"),
		(_EMAIL_RE if channel == EMAIL else None, "en"),
	):
		if pattern is not None:
			found = pattern.search(joined)
			if found:
				hits.append((found.start(), found.group().strip(), language))
			elif core != joined:
				# Without the padding: "do not call please" is "do not call".
				found = pattern.search(core)
				if found:
					hits.append(
						(max(joined.find(found.group().split()[0]), 0), found.group().strip(), language)
					)
	found = _ENGLISH_WHOLE_RE.search(core)
	if found:
		hits.append((max(joined.find(found.group().split()[0]), 0), found.group(), "en"))
	position = 0
	for i, word in enumerate(words):
		if (word in _ALWAYS or word in _COMMANDS_EN or word in _COMMANDS_ES) and _commands(words, i):
			hits.append((position, word, "es" if word in _COMMANDS_ES else "en"))
			break
		position += len(word) + 1
	if not hits:
		return None
	_position, matched, language = min(hits, key=lambda hit: hit[0])
	return matched, language


def _commands(words: list[str], i: int) -> bool:
	"""Is the FCC word at ``words[i]`` a command (it revokes) rather than ordinary speech?"""
	word = words[i]
	if word in _ALWAYS:
		return True
	previous = words[i - 1] if i else ""
	following = words[i + 1 : i + 5]
	after = following[0] if following else ""
	if after == _ECHO:
		return False
	# "bus stop", "stop by", "the end", "end of the month" (but "put a stop to these texts", "stop at once").
	if word == "stop" and after != "to" and (previous in _STOP_PREV or after in _STOP_NEXT):
		return after == "at" and following[1:2] == ["once"]
	if word == "end" and (after in _END_NEXT or previous in _END_PREV):
		return False
	if any(w in _MESSAGE_NOUNS for w in following):
		return True
	# The object: the first word after the determiners ("cancel my appointment", "stop the late fees").
	obj = next((w for w in words[i + 1 :] if w not in _DETERMINERS), "")
	return obj not in _ORDINARY_OBJECTS


# --- email replies -------------------------------------------------------------------------------------

_QUOTE_START = re.compile(
	r"^\s*(?:"
	r"on\b.{0,300}\bwrote:?"
	r"|el\b.{0,300}\bescribi[oó]:?"
	r"|le\b.{0,300}\ba [ée]crit ?:?"
	r"|-{2,}\s*(?:original message|mensaje original|forwarded message|mensaje reenviado)\s*-{2,}"
	r"|_{10,}"
	r"|from:\s.+|de:\s.+"
	r"|sent from my .+|enviado desde mi .+|get outlook for .+"
	r"|--\s*"
	r")\s*$",
	re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h\d|p|div)\b[^>]*>", re.IGNORECASE)
_HTML_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_QUOTE = re.compile(r"<blockquote\b.*", re.IGNORECASE | re.DOTALL)
_GMAIL_QUOTE = re.compile(
	r"<div[^>]*class=\"?[^\">]*(?:gmail_quote|moz-cite-prefix)[^>]*>.*", re.I | re.DOTALL
)
_ENTITIES = {
	"&nbsp;": " ",
	"&amp;": "&",
	"&lt;": "<",
	"&gt;": ">",
	"&quot;": '"',
	"&#39;": "'",
	"&apos;": "'",
}
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|rv|tr|sv|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def email_reply_text(subject: str | None, body: str | None) -> str:
	"""The words a person wrote in an email reply: the subject (without "Re:"/"Fwd:") and the body down to
	the quoted original ("> " lines, "On ... wrote:", "-----Original Message-----", "El ... escribió:") or
	the signature ("-- ", "Sent from my iPhone"), HTML tags removed. Subject and body on separate lines."""
	text = body or ""
	if "<" in text and ">" in text and _TAG.search(text):
		text = _HTML_DROP.sub(" ", text)
		text = _GMAIL_QUOTE.sub(" ", text)
		text = _HTML_QUOTE.sub(" ", text)
		text = _BLOCK_TAG.sub("\n", text)
		text = _TAG.sub(" ", text)
		for entity, character in _ENTITIES.items():
			text = text.replace(entity, character)
	kept = []
	for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
		if line.lstrip().startswith(">") or _QUOTE_START.match(line):
			break
		kept.append(line.strip())
	own = "\n".join(line for line in kept if line)
	title = _REPLY_PREFIX.sub("", subject or "").strip()
	return "\n".join(part for part in (title, own) if part)


# --- the site's words ----------------------------------------------------------------------------------


def check_vocabulary(revocation: Iterable[str], opt_in: Iterable[str], help: Iterable[str]) -> None:
	"""Refuse site words that are not words, or that would take a revocation away: an opt-in or help word
	that is, or contains, an FCC word, a built-in Spanish revocation word, one of the site's own revocation
	words, or that reads as a revocation."""
	revocation, opt_in, help = tuple(revocation), tuple(opt_in), tuple(help)
	for phrase in (*revocation, *opt_in, *help):
		_check_word(phrase)
	site = Vocabulary(revocation=revocation)
	revoking = sorted(
		{
			" ".join(_words(p))
			for p in (*ENGLISH_REVOCATION_KEYWORDS, *SPANISH_REVOCATION_KEYWORDS, *revocation)
		},
		key=len,
		reverse=True,
	)
	contains = re.compile(r"\b(?:" + "|".join(map(re.escape, revoking)) + r")\b")
	for kind, phrases in ((_("opt-in"), opt_in), (_("help"), help)):
		for phrase in phrases:
			words = " ".join(_words(phrase))
			found = contains.search(words) or contains.search(words.replace(" ", ""))
			if found:
				raise Refused(
					"reply_word_revokes",
					_("The {0} word {1} contains the revocation word {2}: a reply with it revokes consent."),
					kind,
					phrase,
					found.group(),
				)
			reading = classify(phrase, site)
			if reading.kind == REVOCATION:
				raise Refused(
					"reply_word_revokes",
					_("The {0} word {1} reads as a revocation ({2}): a reply with it revokes consent."),
					kind,
					phrase,
					reading.matched,
				)


def _check_word(phrase) -> None:
	if not isinstance(phrase, str) or not phrase.strip():
		raise Refused("empty_reply_word", _("A reply word cannot be empty."))
	if len(phrase.strip()) > _MAX_WORD:
		raise Refused(
			"long_reply_word", _("The reply word {0} is longer than {1} characters."), phrase[:40], _MAX_WORD
		)
	if not _LETTER.search(phrase) or not _words(phrase):
		raise Refused("reply_word_without_letters", _("The reply word {0} has no letters."), phrase)


def vocabulary(rows: Iterable[tuple[str, str]]) -> Vocabulary:
	"""A :class:`Vocabulary` from the settings' rows of (kind, phrase), kind one of revocation, opt_in and
	help. Refused (see :func:`check_vocabulary`) when a word is not allowed."""
	found: dict[str, list[str]] = {REVOCATION: [], OPT_IN: [], HELP: []}
	for kind, phrase in rows:
		if kind not in found:
			raise Refused(
				"bad_reply_word_kind",
				_("A reply word is a {0}, not {1}."),
				", ".join((REVOCATION, OPT_IN, HELP)),
				kind,
			)
		_check_word(phrase)
		found[kind].append(phrase.strip())
	check_vocabulary(found[REVOCATION], found[OPT_IN], found[HELP])
	return Vocabulary(
		revocation=tuple(dict.fromkeys(found[REVOCATION])),
		opt_in=tuple(dict.fromkeys(found[OPT_IN])),
		help=tuple(dict.fromkeys(found[HELP])),
	)


def usable_vocabulary(rows: Iterable[tuple[str, str]]) -> tuple[Vocabulary, list[Refused]]:
	"""The site's words that are allowed, and the refusal of each one that is not, never raising: reading a
	reply must not fail on a word saved past the settings' check (e.g. a table row written over REST). A
	site word that would take a revocation away is dropped; the built-in words always stand."""
	refused: list[Refused] = []
	revocation: list[str] = []
	others: list[tuple[str, str]] = []
	for kind, phrase in rows:
		try:
			vocabulary([(kind, phrase)])
		except Refused as refusal:
			refused.append(refusal)
			continue
		(revocation.append(phrase.strip()) if kind == REVOCATION else others.append((kind, phrase.strip())))
	kept: dict[str, list[str]] = {OPT_IN: [], HELP: []}
	for kind, phrase in others:
		try:
			check_vocabulary(revocation, [phrase] if kind == OPT_IN else [], [phrase] if kind == HELP else [])
		except Refused as refusal:
			refused.append(refusal)
			continue
		kept[kind].append(phrase)
	return (
		Vocabulary(
			revocation=tuple(dict.fromkeys(revocation)),
			opt_in=tuple(dict.fromkeys(kept[OPT_IN])),
			help=tuple(dict.fromkeys(kept[HELP])),
		),
		refused,
	)
