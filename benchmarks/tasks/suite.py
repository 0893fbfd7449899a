"""The task suite: small agent tasks with deterministic tools and deterministic checkers.

Every tool records its calls in the current run's log, so a checker can ask both "is the
answer right" and "did the agent get it from the tools" the same way for every library.
No task carries hints for the model: the task text is what a user would write.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

CallLog = list[tuple[str, dict[str, Any]]]
_log: contextvars.ContextVar[CallLog] = contextvars.ContextVar("benchmark_tool_log")


def new_log() -> CallLog:
    """Start recording tool calls for one task run (in this context)."""
    log: CallLog = []
    _log.set(log)
    return log


def _record(name: str, **args: Any) -> None:
    with contextlib.suppress(LookupError):
        _log.get().append((name, args))


WEATHER = {"los angeles": "72F and sunny", "paris": "64F and rainy", "tokyo": "81F and humid",
           "oslo": "28F and snowing", "cairo": "95F and clear"}
USERS = {"alice": "Paris", "bob": "Tokyo", "carol": "Oslo", "dave": "Cairo"}
POPULATION = {"paris": 2_100_000, "tokyo": 14_000_000, "oslo": 700_000, "cairo": 10_000_000,
              "los angeles": 3_900_000}
PRICES = {"apple": 3, "bread": 5, "cheese": 12, "milk": 4, "lamp": 20, "desk": 150}  # dollars
STOCK = {"apple": 40, "bread": 0, "cheese": 7, "milk": 15, "lamp": 2}
ORDERS = {"A100": {"item": "lamp", "quantity": 3, "customer": "alice"},
          "B200": {"item": "desk", "quantity": 1, "customer": "bob"}}
CAPITALS = {"france": "Paris", "japan": "Tokyo", "norway": "Oslo", "egypt": "Cairo"}
PAGES = {"https://example.com/zyx": "zyx is a Python library: run() lets an LLM agent finish tasks with tools. "
         "Version 0.1.0 was released on 2026-11-02.",
         "https://example.com/team": "The team has 4 engineers and 1 designer."}


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    _record("get_weather", city=city)
    weather = WEATHER.get(city.strip().lower())
    return f"{city}: {weather}" if weather else f"Error: unknown city {city!r}"


def get_user_city(user: str) -> str:
    """Get the home city of a user, by user name."""
    _record("get_user_city", user=user)
    return USERS.get(user.strip().lower(), f"unknown user {user!r}")


def get_population(city: str) -> int | str:
    """Get the population of a city."""
    _record("get_population", city=city)
    return POPULATION.get(city.strip().lower(), f"Error: unknown city {city!r}")


def add(a: int, b: int) -> int:
    """Add two integers."""
    _record("add", a=a, b=b)
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    _record("multiply", a=a, b=b)
    return a * b


def subtract(a: int, b: int) -> int:
    """Subtract b from a."""
    _record("subtract", a=a, b=b)
    return a - b


def get_price(item: str) -> int | str:
    """Get the price of an item in dollars."""
    _record("get_price", item=item)
    return PRICES.get(item.strip().lower(), f"Error: unknown item {item!r}")


def get_stock(item: str) -> int | str:
    """Get how many units of an item are in stock."""
    _record("get_stock", item=item)
    return STOCK.get(item.strip().lower(), f"Error: unknown item {item!r}")


def get_order(order_id: str) -> dict[str, Any]:
    """Look up an order by its id: item, quantity and customer."""
    _record("get_order", order_id=order_id)
    return ORDERS.get(order_id.strip().upper(), {"error": f"no order {order_id!r}"})


def get_capital(country: str) -> str:
    """Get the capital city of a country."""
    _record("get_capital", country=country)
    return CAPITALS.get(country.strip().lower(), f"unknown country {country!r}")


def fetch(url: str) -> str:
    """Fetch the text of a web page."""
    _record("fetch", url=url)
    return PAGES.get(url.strip(), "404 not found")


def word_count(text: str) -> int:
    """Count the words in a text."""
    _record("word_count", text=text)
    return len(text.split())


class Todo(BaseModel):
    item: str
    priority: int


class Weather(BaseModel):
    city: str
    temperature_f: int
    conditions: str


class Order(BaseModel):
    item: str
    quantity: int
    customer: str


class Line(BaseModel):
    item: str
    price: int


class Basket(BaseModel):
    lines: list[Line]
    total: int


class CityFacts(BaseModel):
    city: str
    population: int


class Tree(BaseModel):
    """A recursive model: a name and child trees."""

    name: str
    children: list[Tree] = []


@dataclass(frozen=True)
class Outcome:
    """What a library's run produced, in library-neutral terms."""

    output: Any  # the typed result, or the final text (zyx: the completion summary)
    text: str  # all final text (summary / last message)
    status: str  # "success" unless the library reported otherwise
    calls: CallLog
    streamed: int = 0  # partial values seen, for streaming tasks


@dataclass(frozen=True)
class Task:
    """One benchmark task: the prompt, its tools and target, and a deterministic checker."""

    name: str
    category: str
    prompt: str | None
    check: Callable[[Outcome], bool]
    tools: tuple[Callable[..., Any], ...] = ()
    target: Any = None
    verifier: Callable[..., Any] | None = None  # zyx verifier (peers get it as an output check where they can)
    plan: bool = False
    stream: bool = False
    require_completion: bool = True
    zyx_only: bool = False  # no peer equivalent (task=None / make)
    options: dict[str, Any] = field(default_factory=dict)


def called(outcome: Outcome, name: str, **args: Any) -> bool:
    """Whether a tool was called (with arguments matching case-insensitively, when given)."""
    def same(a: Any, b: Any) -> bool:
        return str(a).strip().lower() == str(b).strip().lower()
    return any(n == name and all(same(a.get(k), v) for k, v in args.items()) for n, a in outcome.calls)


def says(outcome: Outcome, *words: str) -> bool:
    """Whether the final text (or the output) mentions every word, case-insensitively."""
    text = f"{outcome.text} {outcome.output}".lower()
    return all(w.lower() in text for w in words)


def ok(outcome: Outcome) -> bool:
    return outcome.status == "success"


def _is(value: Any, cls: type) -> bool:
    return isinstance(value, cls)


def _first_result_rejected(completion: Any) -> str | None:
    """Reject the first answer of a run (every answer whose summary lacks 'checked')."""
    summary = getattr(completion, "summary", "") or ""
    return None if "checked" in summary.lower() else "Say in the summary that you checked the result (use the word 'checked')."


def _has_city_and_weather(completion: Any) -> str | None:
    result = getattr(completion, "result", None) or {}
    return None if {"city", "weather"} <= set(result) else "The result needs the keys city and weather."


def _population_check(completion: Any) -> str | None:
    result = getattr(completion, "result", None)
    pop = getattr(result, "population", None)
    return None if pop == 14_000_000 else "The population must be the value get_population returned."


TASKS: list[Task] = [
    # --- the seed examples ---
    Task("seed_weather", "seed", "Check the weather in Los Angeles and summarize it.",
         lambda o: ok(o) and called(o, "get_weather", city="Los Angeles") and says(o, "72"), (get_weather,)),
    Task("seed_todo", "seed", "Create a single todo for today's top priority.",
         lambda o: ok(o) and _is(o.output, Todo) and bool(o.output.item.strip()), target=Todo),
    Task("seed_dict_verifier", "seed", "Get the weather in Paris and return it as a dict with keys city and weather.",
         lambda o: ok(o) and _is(o.output, dict) and called(o, "get_weather", city="Paris")
         and any(w in str(o.output.get("weather", "")).lower() for w in ("64", "rain")),
         (get_weather,), target=dict[str, str], verifier=_has_city_and_weather),
    Task("seed_plan_fetch", "seed", "Fetch https://example.com/zyx and tell me the release date of version 0.1.0.",
         lambda o: ok(o) and called(o, "fetch") and says(o, "2026-11-02"), (fetch,), plan=True),
    Task("seed_stream_list", "seed", "List three primary colours.",
         lambda o: ok(o) and _is(o.output, list) and len(o.output) == 3 and all(isinstance(x, str) for x in o.output),
         target=list[str], stream=True),
    Task("seed_make", "seed", None, lambda o: _is(o.output, Todo) and bool(o.output.item.strip()), target=Todo,
         zyx_only=True),
    # --- one tool call ---
    Task("one_weather_tokyo", "one_call", "What is the weather in Tokyo right now?",
         lambda o: ok(o) and called(o, "get_weather", city="Tokyo") and says(o, "81"), (get_weather,)),
    Task("one_capital", "one_call", "What is the capital of Norway? Use the tool.",
         lambda o: ok(o) and called(o, "get_capital", country="Norway") and says(o, "oslo"), (get_capital,)),
    Task("one_price", "one_call", "How much does cheese cost?",
         lambda o: ok(o) and called(o, "get_price", item="cheese") and says(o, "12"), (get_price,)),
    Task("one_fetch", "one_call", "How many engineers does the team have, according to https://example.com/team?",
         lambda o: ok(o) and called(o, "fetch") and says(o, "4"), (fetch,)),
    Task("one_population_int", "one_call", "What is the population of Oslo?",
         lambda o: ok(o) and o.output == 700_000 and called(o, "get_population"), (get_population,), target=int),
    # --- choose one of several tools ---
    Task("choose_stock", "choose", "How many units of milk are in stock?",
         lambda o: ok(o) and called(o, "get_stock", item="milk") and says(o, "15"),
         (get_weather, get_price, get_stock, get_capital)),
    Task("choose_weather", "choose", "Is it snowing in Oslo?",
         lambda o: ok(o) and called(o, "get_weather", city="Oslo") and says(o, "snow"),
         (get_price, get_weather, get_population)),
    Task("choose_capital", "choose", "Which city is the capital of Egypt?",
         lambda o: ok(o) and called(o, "get_capital", country="Egypt") and says(o, "cairo"),
         (get_weather, get_capital, get_stock)),
    Task("choose_order", "choose", "What item is in order A100?",
         lambda o: ok(o) and called(o, "get_order", order_id="A100") and says(o, "lamp"),
         (get_price, get_order, get_user_city, get_stock)),
    # --- two hops ---
    Task("hop_user_weather", "two_hop", "What is the weather where alice lives?",
         lambda o: ok(o) and called(o, "get_user_city", user="alice") and called(o, "get_weather", city="Paris")
         and says(o, "64"), (get_user_city, get_weather)),
    Task("hop_capital_weather", "two_hop", "What is the weather in the capital of Japan?",
         lambda o: ok(o) and called(o, "get_weather", city="Tokyo") and says(o, "81"), (get_capital, get_weather)),
    Task("hop_user_population", "two_hop", "What is the population of the city where bob lives?",
         lambda o: ok(o) and o.output == 14_000_000, (get_user_city, get_population), target=int),
    Task("hop_order_price", "two_hop", "What is the price of the item in order A100?",
         lambda o: ok(o) and called(o, "get_order", order_id="A100") and called(o, "get_price", item="lamp")
         and o.output == 20, (get_order, get_price), target=int),
    Task("hop_capital_population", "two_hop", "What is the population of the capital of Egypt?",
         lambda o: ok(o) and o.output == 10_000_000, (get_capital, get_population), target=int),
    # --- arithmetic through tools ---
    Task("math_add", "arithmetic", "Use the add tool to compute 1234 + 5678.",
         lambda o: ok(o) and o.output == 6912 and called(o, "add"), (add, multiply), target=int),
    Task("math_multiply", "arithmetic", "What is 37 times 43? Use the tools.",
         lambda o: ok(o) and o.output == 1591 and called(o, "multiply"), (add, multiply, subtract), target=int),
    Task("math_two_steps", "arithmetic", "Compute (12 + 30) * 3 with the tools.",
         lambda o: ok(o) and o.output == 126 and called(o, "add") and called(o, "multiply"), (add, multiply),
         target=int),
    Task("math_price_total", "arithmetic", "What do 3 loaves of bread cost in total?",
         lambda o: ok(o) and o.output == 15 and called(o, "get_price", item="bread"), (get_price, multiply),
         target=int),
    # --- typed results built from tool outputs ---
    Task("typed_weather", "typed", "Get the weather in Cairo as a structured record.",
         lambda o: ok(o) and _is(o.output, Weather) and o.output.temperature_f == 95 and called(o, "get_weather"),
         (get_weather,), target=Weather),
    Task("typed_order", "typed", "Look up order B200 and return it.",
         lambda o: ok(o) and _is(o.output, Order) and o.output.item == "desk" and o.output.quantity == 1
         and o.output.customer == "bob", (get_order,), target=Order),
    Task("typed_basket", "typed", "Build a basket with one apple and one milk, with their prices and the total.",
         lambda o: ok(o) and _is(o.output, Basket) and o.output.total == 7
         and sorted((ln.item.lower(), ln.price) for ln in o.output.lines) == [("apple", 3), ("milk", 4)],
         (get_price, add), target=Basket),
    Task("typed_city_facts", "typed", "Give the city and population of Paris.",
         lambda o: ok(o) and _is(o.output, CityFacts) and o.output.population == 2_100_000,
         (get_population,), target=CityFacts),
    Task("typed_recursive", "typed", "Make a tree named 'root' with two children named 'a' and 'b' (no grandchildren).",
         lambda o: ok(o) and _is(o.output, Tree) and o.output.name == "root"
         and sorted(c.name for c in o.output.children) == ["a", "b"], target=Tree),
    # --- verifiers ---
    Task("verify_first_rejected", "verifier", "What is the weather in Paris?",
         lambda o: ok(o) and called(o, "get_weather", city="Paris") and says(o, "64", "checked"), (get_weather,),
         verifier=_first_result_rejected),
    Task("verify_population", "verifier", "Return the city and population of Tokyo.",
         lambda o: ok(o) and _is(o.output, CityFacts) and o.output.population == 14_000_000,
         (get_population,), target=CityFacts, verifier=_population_check),
    # --- plan mode ---
    Task("plan_two_cities", "plan", "Get the weather in Paris and in Tokyo and summarize both.",
         lambda o: ok(o) and called(o, "get_weather", city="Paris") and called(o, "get_weather", city="Tokyo")
         and says(o, "64", "81"), (get_weather,), plan=True),
    Task("plan_math", "plan", "Compute 6 * 7 with the tools.",
         lambda o: ok(o) and o.output == 42 and called(o, "multiply"), (add, multiply), target=int, plan=True),
    # --- streaming ---
    Task("stream_weather", "stream", "Get the weather in Tokyo as a structured record.",
         lambda o: ok(o) and _is(o.output, Weather) and o.output.temperature_f == 81, (get_weather,), target=Weather,
         stream=True),
    Task("stream_capitals", "stream", "List the capitals of France and Japan, using the tool.",
         lambda o: ok(o) and _is(o.output, list) and {str(x).lower() for x in o.output} >= {"paris", "tokyo"},
         (get_capital,), target=list[str], stream=True),
    # --- require_completion=False ---
    Task("free_weather", "no_completion", "What is the weather in Cairo?",
         lambda o: says(o, "95") and called(o, "get_weather", city="Cairo"), (get_weather,), require_completion=False),
    Task("free_greeting", "no_completion", "Say hello to the user in one short sentence.",
         lambda o: "hello" in o.text.lower() or "hi" in o.text.lower(), require_completion=False),
]

Tree.model_rebuild()
BY_NAME = {t.name: t for t in TASKS}

from benchmarks.tasks.conventions import CONVENTION_TASKS  # noqa: E402  (its tools use this module's helpers)

TASKS += CONVENTION_TASKS
BY_NAME = {t.name: t for t in TASKS}

SPLIT_SEED = 25
"""The seed of the tuning / held-out split (fixed: a result is only comparable on the same halves)."""


def halves(tasks: list[Task], seed: int = SPLIT_SEED) -> dict[str, list[Task]]:
    """Split tasks into "tune" and "held_out" halves, category by category (shuffled with `seed`, then dealt
    alternately, the first card of each category to the half that has fewer so far), in suite order."""
    import random

    rng = random.Random(seed)
    side: dict[str, str] = {}
    counts = {"tune": 0, "held_out": 0}
    for category in dict.fromkeys(t.category for t in tasks):
        names = [t.name for t in tasks if t.category == category]
        rng.shuffle(names)
        first = min(counts, key=lambda h: (counts[h], h != "tune"))
        order = [first, "held_out" if first == "tune" else "tune"]
        for i, name in enumerate(names):
            side[name] = order[i % 2]
            counts[side[name]] += 1
    return {half: [t for t in tasks if side[t.name] == half] for half in ("tune", "held_out")}
