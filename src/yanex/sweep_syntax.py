"""Reading sweep expressions: a tokenizer and a recursive-descent grammar.

:mod:`yanex.sweep` imports this module only when a value looks like a call,
so runs without sweeps never pay for it. Numbers are read from their literal
text into exact fractions and turned into floats once, which is why
``range(0.1, 0.4, 0.1)`` is ``[0.1, 0.2, 0.3]`` and not drifted values. User
text is never evaluated; every problem is a :class:`~yanex.errors.SweepError`
pointing at the offending text.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, NamedTuple

from yanex.errors import ParamError, SweepError
from yanex.sweep import FUNCTIONS, MAX_MEMBERS, Sweep, SweepValues, called_name
from yanex.values import MAX_DEPTH, parse_value, type_plain

# A bound longer than this is a typo or an attack, never a real parameter.
_MAX_NUMBER_CHARS = 100

# Error messages quote at most this much of the expression and the culprit.
_SHOWN_EXPRESSION_CHARS = 60
_SHOWN_CULPRIT_CHARS = 30

# The name list elements are given while typed, removed again from messages.
_ELEMENT = "element"

_CLOSER_OF = {"(": ")", "[": "]", "{": "}"}
_DELIMITERS = frozenset("()[]{},")
_QUOTES = frozenset("'\"")

# 10**e is a nonzero finite float only for e roughly in [-323.3, 308.25].
_SMALLEST_EXPONENT = -330
_LARGEST_EXPONENT = 310


def parse(text: str, *, source: str) -> Sweep:
    """Parse a sweep expression; ``source`` names it in error messages."""
    expression = _Expression(source, text.strip())
    name = called_name(expression.text)
    if name is None:
        raise expression.error(
            "not a sweep expression; write a call such as range(0, 10)",
            0,
            len(expression.text),
        )
    if name not in _BUILDERS:
        raise expression.error(_unknown_function(name), 0, len(name))

    call = _Parser(expression).parse_call()
    return Sweep(expression.text, name, _BUILDERS[name](call))


def _unknown_function(name: str) -> str:
    known = ", ".join(FUNCTIONS[:-1]) + " or " + FUNCTIONS[-1]
    return (
        f"unknown sweep function '{name}'; use {known}, "
        "or quote the value to keep it as a plain string"
    )


# Reporting errors.


class _Expression(NamedTuple):
    """The text being parsed and the name of where it came from."""

    source: str
    text: str

    def error(self, problem: str, start: int, end: int) -> SweepError:
        """Build the one-line error pointing at ``text[start:end]``."""
        if start >= len(self.text):
            where = f"at the end, column {len(self.text) + 1}"
        else:
            culprit = _shown(self.text[start:end], _SHOWN_CULPRIT_CHARS)
            where = f"at '{culprit}', column {start + 1}"
        shown = _shown(self.text, _SHOWN_EXPRESSION_CHARS)
        return SweepError(f"{self.source}: {shown}: {problem} ({where})")


def _shown(text: str, limit: int) -> str:
    """Make text fit on one short line, keeping columns where they were."""
    printable = "".join(char if char.isprintable() else " " for char in text)
    if len(printable) <= limit:
        return printable
    return printable[: limit - 3] + "..."


# Tokens: the expression cut into delimiters, quoted strings and other text.


class _Token(NamedTuple):
    """A delimiter (its kind is the character), ``text``, ``quoted`` or ``end``."""

    kind: str
    start: int
    end: int


def _tokenize(expression: _Expression) -> list[_Token]:
    """Cut the expression into tokens, dropping the white space between them.

    A quote opens a string only where a token starts, so the apostrophe in
    ``don't`` is part of the word, as it is in YAML.
    """
    text = expression.text
    tokens = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
            continue

        if char in _DELIMITERS:
            end = position + 1
            kind = char
        elif char in _QUOTES:
            end = _end_of_quoted(expression, position)
            kind = "quoted"
        else:
            end = _end_of_text(text, position)
            kind = "text"
        tokens.append(_Token(kind, position, end))
        position = end

    tokens.append(_Token("end", len(text), len(text)))
    return tokens


def _end_of_text(text: str, start: int) -> int:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in _DELIMITERS:
        end += 1
    return end


def _end_of_quoted(expression: _Expression, start: int) -> int:
    """Find the end of a YAML quoted string: ``''`` or ``\\"`` escape a quote."""
    text = expression.text
    quote = text[start]
    position = start + 1
    while position < len(text):
        char = text[position]
        if quote == '"' and char == "\\":
            position += 2
        elif char == quote:
            if quote == "'" and text[position + 1 : position + 2] == "'":
                position += 2
                continue
            return position + 1
        else:
            position += 1
    raise expression.error("unclosed quote", start, len(text))


# The grammar, read by recursive descent:
#
#     call     := NAME "(" [argument ("," argument)*] ")" END
#     argument := piece+
#     piece    := TEXT | QUOTED | group
#     group    := "(" inner* ")" | "[" inner* "]" | "{" inner* "}"
#     inner    := piece | ","


class _Argument(NamedTuple):
    """One argument of the call: its span and its top-level pieces.

    A group piece is represented by its opening token.
    """

    text: str
    start: int
    end: int
    pieces: tuple[_Token, ...]

    def is_single_text(self) -> bool:
        return len(self.pieces) == 1 and self.pieces[0].kind == "text"

    def is_call(self) -> bool:
        return (
            len(self.pieces) >= 2
            and self.pieces[0].kind == "text"
            and self.pieces[1].kind == "("
            and called_name(self.text) is not None
        )


class _Call(NamedTuple):
    """A parsed call: the expression, its arguments and their span."""

    expression: _Expression
    arguments: tuple[_Argument, ...]
    start: int
    end: int

    def fail(self, problem: str) -> SweepError:
        """Report a problem with the call as a whole, such as its size."""
        return self.expression.error(problem, 0, len(self.expression.text))

    def fail_arguments(self, problem: str) -> SweepError:
        """Report a problem with the arguments together, such as their count."""
        return self.expression.error(problem, self.start, self.end)

    def fail_at(self, argument: _Argument, problem: str) -> SweepError:
        return self.expression.error(problem, argument.start, argument.end)


class _Parser:
    """Reads one call from the tokens of an expression."""

    def __init__(self, expression: _Expression) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, problem: str, token: _Token) -> SweepError:
        return self.expression.error(problem, token.start, token.end)

    def parse_call(self) -> _Call:
        # The caller has checked the text opens with a name and "(".
        self.advance()
        opening = self.advance()
        arguments = self.parse_arguments()

        closing = self.peek()
        if closing.kind != ")":
            raise self.fail("missing ')'", closing)
        self.advance()

        rest = self.peek()
        if rest.kind != "end":
            problem = "unexpected text after ')'"
            raise self.expression.error(problem, rest.start, len(self.expression.text))
        return _Call(self.expression, tuple(arguments), opening.start, closing.end)

    def parse_arguments(self) -> list[_Argument]:
        if self.peek().kind == ")":
            return []

        arguments = [self.parse_argument()]
        while self.peek().kind == ",":
            self.advance()
            arguments.append(self.parse_argument())
        return arguments

    def parse_argument(self) -> _Argument:
        pieces = []
        end = self.peek().start
        while self.peek().kind not in (",", ")", "end"):
            pieces.append(self.peek())
            end = self.parse_piece(depth=1)

        if not pieces:
            token = self.peek()
            if token.kind == "end":
                raise self.fail("missing ')'", token)
            raise self.fail(f"missing value before '{token.kind}'", token)
        start = pieces[0].start
        return _Argument(self.expression.text[start:end], start, end, tuple(pieces))

    def parse_piece(self, depth: int) -> int:
        """Consume one piece and return where it ends."""
        token = self.advance()
        if token.kind in ("text", "quoted"):
            return token.end
        if token.kind in _CLOSER_OF:
            return self.parse_group(token, depth)
        raise self.fail(f"unmatched '{token.kind}'", token)

    def parse_group(self, opening: _Token, depth: int) -> int:
        """Consume a bracketed group up to its matching closer."""
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep", opening)

        closer = _CLOSER_OF[opening.kind]
        while True:
            token = self.peek()
            if token.kind == closer:
                return self.advance().end
            if token.kind == "end" or token.kind in _CLOSER_OF.values():
                raise self.fail(f"unclosed '{opening.kind}'", opening)
            if token.kind == ",":
                self.advance()
            else:
                self.parse_piece(depth + 1)


# Values: what a call stands for, computed only on demand.


class _Elements:
    """The typed elements of a ``list(...)``."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[Any, ...]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def materialize(self) -> list[Any]:
        return copy.deepcopy(list(self.items))


class _Progression:
    """``count`` numbers ``start + i * step``, computed exactly."""

    __slots__ = ("count", "integral", "start", "step")

    def __init__(self, start: Fraction, step: Fraction, count: int, integral: bool):
        self.start = start
        self.step = step
        self.count = count
        self.integral = integral

    def __len__(self) -> int:
        return self.count

    def exact(self) -> Iterator[Fraction]:
        return (self.start + i * self.step for i in range(self.count))

    def materialize(self) -> list[Any]:
        convert: Callable[[Fraction], Any] = int if self.integral else float
        return [convert(value) for value in self.exact()]


class _Powers:
    """Ten to the power of each exponent of a progression."""

    __slots__ = ("exponents",)

    def __init__(self, exponents: _Progression) -> None:
        self.exponents = exponents

    def __len__(self) -> int:
        return len(self.exponents)

    def materialize(self) -> list[Any]:
        return [_power_of_ten(exponent) for exponent in self.exponents.exact()]


def _power_of_ten(exponent: Fraction) -> float:
    """Return 10**exponent rounded once: exactly for whole exponents."""
    if exponent.denominator == 1:
        return float(Fraction(10) ** exponent.numerator)

    with localcontext() as context:
        context.prec = 40
        power = Decimal(10) ** (
            Decimal(exponent.numerator) / Decimal(exponent.denominator)
        )
    return float(power)


# Building the values of each function from its arguments.


class _Number(NamedTuple):
    value: Fraction
    integral: bool


def _build_list(call: _Call) -> SweepValues:
    if not call.arguments:
        raise call.fail_arguments("list needs at least one element")
    _check_size(call, len(call.arguments))

    return _Elements(
        tuple(_type_element(call, argument) for argument in call.arguments)
    )


def _type_element(call: _Call, argument: _Argument) -> Any:
    """Type one list element exactly as a ``--param`` value would be typed."""
    if argument.is_call():
        name = called_name(argument.text)
        problem = (
            "sweeps cannot be nested"
            if name in FUNCTIONS
            else "a list element cannot be a call"
        )
        raise call.fail_at(argument, f"{problem}; quote it to keep it as text")

    try:
        return parse_value(argument.text, source=_ELEMENT)
    except ParamError as error:
        detail = _without_position(str(error).removeprefix(f"{_ELEMENT}: "))
        raise call.fail_at(argument, f"bad list element: {detail}") from None


def _without_position(detail: str) -> str:
    """Drop the YAML parser's position, which counts from the element's start.

    The error points at the element itself, so the inner position would
    only confuse.
    """
    head, marker, tail = detail.rpartition(" (line ")
    if marker and tail.endswith(")") and ", column " in tail:
        return head
    return detail


def _build_range(call: _Call) -> SweepValues:
    if len(call.arguments) not in (2, 3):
        raise call.fail_arguments(
            "range takes 2 or 3 arguments (start, stop[, step]), "
            f"got {len(call.arguments)}"
        )
    start = _read_number(call, call.arguments[0], "start")
    stop = _read_number(call, call.arguments[1], "stop")
    step = _read_step(call)

    count = _range_length(call, start.value, stop.value, step.value)
    _check_size(call, count)

    integral = start.integral and stop.integral and step.integral
    return _Progression(start.value, step.value, count, integral)


def _read_step(call: _Call) -> _Number:
    if len(call.arguments) == 2:
        return _Number(Fraction(1), integral=True)

    step = _read_number(call, call.arguments[2], "step")
    if step.value == 0:
        raise call.fail_at(call.arguments[2], "step must not be zero")
    return step


def _range_length(call: _Call, start: Fraction, stop: Fraction, step: Fraction) -> int:
    """Count values as Python's range does, refusing a range with none.

    An empty sweep would silently run nothing, which is never what was meant.
    """
    count = math.ceil((stop - start) / step)
    if count <= 0:
        rising = step > 0
        raise call.fail_arguments(
            f"range is empty: start must be {'below' if rising else 'above'} "
            f"stop when step is {'positive' if rising else 'negative'}"
        )
    return count


def _build_linspace(call: _Call) -> SweepValues:
    return _build_even(call, "linspace", "start", "stop")


def _build_logspace(call: _Call) -> SweepValues:
    exponents = _build_even(call, "logspace", "start_exp", "stop_exp")

    last = exponents.start + (exponents.count - 1) * exponents.step
    _check_power_of_ten(call, call.arguments[0], "start_exp", exponents.start)
    _check_power_of_ten(call, call.arguments[1], "stop_exp", last)
    return _Powers(exponents)


def _build_even(call: _Call, function: str, first: str, last: str) -> _Progression:
    """Read ``num`` evenly spaced numbers from ``first`` to ``last`` inclusive."""
    if len(call.arguments) != 3:
        raise call.fail_arguments(
            f"{function} takes 3 arguments ({first}, {last}, num), "
            f"got {len(call.arguments)}"
        )
    start = _read_number(call, call.arguments[0], first)
    stop = _read_number(call, call.arguments[1], last)
    num = _read_count(call, call.arguments[2])

    step = (stop.value - start.value) / (num - 1) if num > 1 else Fraction(0)
    return _Progression(start.value, step, num, integral=False)


def _check_power_of_ten(
    call: _Call, argument: _Argument, name: str, exponent: Fraction
) -> None:
    """Refuse an end exponent whose power of ten no float can hold.

    The powers between the two ends lie between theirs, so checking the ends
    checks them all. The rough bounds come first so that a huge exponent is
    never raised to.
    """
    if exponent > _LARGEST_EXPONENT:
        raise call.fail_at(argument, f"10**{name} is too large for a float")
    if exponent < _SMALLEST_EXPONENT:
        raise call.fail_at(argument, f"10**{name} is too small for a float")

    try:
        power = _power_of_ten(exponent)
    except OverflowError:
        power = math.inf
    if math.isinf(power):
        raise call.fail_at(argument, f"10**{name} is too large for a float")
    if power == 0:
        raise call.fail_at(argument, f"10**{name} is too small for a float")


def _read_count(call: _Call, argument: _Argument) -> int:
    number = _read_number(call, argument, "num")
    if not number.integral:
        raise call.fail_at(argument, "num must be a whole number")
    if number.value < 1:
        raise call.fail_at(argument, "num must be at least 1")
    _check_size(call, int(number.value))
    return int(number.value)


def _read_number(call: _Call, argument: _Argument, name: str) -> _Number:
    """Read a bound exactly from its literal text, as YAML would type it."""
    text = argument.text
    if not argument.is_single_text():
        raise call.fail_at(argument, f"{name} must be a number")
    if len(text) > _MAX_NUMBER_CHARS:
        raise call.fail_at(
            argument, f"{name} is longer than {_MAX_NUMBER_CHARS} characters"
        )

    typed = type_plain(text)
    if isinstance(typed, bool) or not isinstance(typed, int | float):
        raise call.fail_at(argument, f"{name} must be a number")
    if isinstance(typed, int):
        return _Number(Fraction(typed), integral=True)
    return _Number(_exact_float(call, argument, name, typed), integral=False)


def _exact_float(call: _Call, argument: _Argument, name: str, typed: float) -> Fraction:
    """Return the exact value of a float literal that a float can hold."""
    if math.isnan(typed) or "inf" in argument.text.lower():
        raise call.fail_at(argument, f"{name} must be finite")
    if math.isinf(typed):
        raise call.fail_at(argument, f"{name} is too large for a float")

    exact = Decimal(argument.text)
    if exact == 0:
        return Fraction(0)
    if typed == 0:
        raise call.fail_at(argument, f"{name} is too close to zero for a float")
    return Fraction(exact)


def _check_size(call: _Call, count: int) -> None:
    if count > MAX_MEMBERS:
        raise call.fail(
            f"would make {count:,} values, more than the limit of {MAX_MEMBERS:,}"
        )


_BUILDERS: dict[str, Callable[[_Call], SweepValues]] = {
    "list": _build_list,
    "range": _build_range,
    "linspace": _build_linspace,
    "logspace": _build_logspace,
}
