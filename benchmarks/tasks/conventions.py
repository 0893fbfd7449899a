"""Tasks whose tools follow other tools' conventions, not this suite's `Error:` prefix.

Real tools answer a bad lookup in plain words, raise exceptions, return empty results, give
numbers with units, or need an id that only another tool knows. Each task here has a
deterministic checker of the answer and of the tool calls behind it, like the rest of the suite.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from benchmarks.tasks.suite import Outcome, Task, _record, called, ok, says

EMPLOYEES = {"E-104": {"name": "Priya Shah", "department": "Finance", "manager": "E-200"},
             "E-200": {"name": "Tom Berg", "department": "Finance", "manager": None},
             "E-311": {"name": "Lena Ruiz", "department": "Research", "manager": "E-200"}}
CUSTOMERS = {"jane@example.com": "C-8841", "omar@example.com": "C-1207"}
CUSTOMER_ORDERS = {"C-8841": [{"order": "R-1", "total": "18.50 EUR"}, {"order": "R-2", "total": "7.25 EUR"},
                              {"order": "R-3", "total": "31.00 EUR"}],
                   "C-1207": []}
RATES = {("EUR", "USD"): 1.1, ("USD", "EUR"): 0.9, ("GBP", "USD"): 1.3}
DISTANCES_KM = {frozenset({"paris", "berlin"}): 1054, frozenset({"oslo", "rome"}): 2008}
FLIGHTS = {("oslo", "cairo"): [], ("paris", "tokyo"): ["AF276 08:10", "JL46 19:55"]}
FILE_SIZES = {"report.pdf": "2.4 MB", "notes.txt": "12 KB"}


def find_employee(full_name: str) -> str:
    """Find an employee's id by their full name."""
    _record("find_employee", full_name=full_name)
    hits = [eid for eid, e in EMPLOYEES.items() if e["name"].lower() == full_name.strip().lower()]
    return hits[0] if hits else f"nobody called {full_name} works here"


def employee_record(employee_id: str) -> dict[str, Any] | str:
    """An employee's record (name, department, manager's id), by employee id."""
    _record("employee_record", employee_id=employee_id)
    return EMPLOYEES.get(employee_id.strip().upper()) or f"no employee with id {employee_id}"


def customer_id(email: str) -> str:
    """The customer id registered for an email address."""
    _record("customer_id", email=email)
    found = CUSTOMERS.get(email.strip().lower())
    if found is None:
        raise LookupError(f"email {email!r} is not registered")
    return found


def customer_orders(customer: str) -> list[dict[str, str]]:
    """The orders of a customer, by customer id (e.g. C-1234)."""
    _record("customer_orders", customer=customer)
    if not customer.strip().upper().startswith("C-"):
        raise ValueError(f"{customer!r} is not a customer id")
    return CUSTOMER_ORDERS.get(customer.strip().upper(), [])


def convert(amount: float, source: str, target: str) -> float:
    """Convert an amount of money between currencies given as ISO codes (EUR, USD, GBP)."""
    _record("convert", amount=amount, source=source, target=target)
    rate = RATES.get((source.strip().upper(), target.strip().upper()))
    if rate is None:
        raise KeyError(f"no rate for {source}->{target}; currencies are ISO codes such as EUR, USD, GBP")
    return round(amount * rate, 2)


def distance(origin: str, destination: str) -> str:
    """Road distance between two cities."""
    _record("distance", origin=origin, destination=destination)
    km = DISTANCES_KM.get(frozenset({origin.strip().lower(), destination.strip().lower()}))
    return f"{km:,} km" if km is not None else "route not found"


def file_size(path: str) -> str:
    """The size of a file, with its unit."""
    _record("file_size", path=path)
    return FILE_SIZES.get(path.strip(), "")


def search_flights(origin: str, destination: str) -> list[str]:
    """Direct flights between two cities tomorrow (flight number and departure time)."""
    _record("search_flights", origin=origin, destination=destination)
    return FLIGHTS.get((origin.strip().lower(), destination.strip().lower()), [])


def get_forecast(city: str) -> str:
    """Tomorrow's weather forecast for a city."""
    _record("get_forecast", city=city)
    return {"paris": "rain, 11 C", "oslo": "snow, -4 C"}.get(city.strip().lower(), "")


class Person(BaseModel):
    name: str
    department: str


def _no_invention(outcome: Outcome) -> bool:
    """A task no tool can do: the run must not report success."""
    return outcome.status in ("failed", "skipped")


def _department_is_real(completion: Any) -> str | None:
    result = getattr(completion, "result", None)
    return None if getattr(result, "department", None) == "Research" else (
        "The department must be the one in the employee's record.")


CONVENTION_TASKS: list[Task] = [
    # --- an id from another tool, bad lookups answered in plain words ---
    Task("id_employee_department", "id_chain", "Which department does Priya Shah work in?",
         lambda o: ok(o) and called(o, "employee_record", employee_id="E-104") and says(o, "finance"),
         (employee_record, find_employee)),
    Task("id_manager_name", "id_chain", "What is the name of Lena Ruiz's manager?",
         lambda o: ok(o) and called(o, "employee_record", employee_id="E-200") and says(o, "tom berg"),
         (find_employee, employee_record)),
    # --- exceptions ---
    Task("raise_order_count", "exceptions", "How many orders has jane@example.com placed?",
         lambda o: ok(o) and o.output == 3 and called(o, "customer_orders", customer="C-8841"),
         (customer_orders, customer_id), target=int),
    Task("raise_currency", "exceptions", "How many US dollars are 40 euros?",
         lambda o: ok(o) and called(o, "convert") and says(o, "44"), (convert,)),
    # --- empty results ---
    Task("empty_flights", "empty", "How many direct flights are there from Oslo to Cairo tomorrow?",
         lambda o: ok(o) and o.output == 0 and called(o, "search_flights"), (search_flights,), target=int),
    Task("empty_orders", "empty", "List the order numbers of omar@example.com.",
         lambda o: ok(o) and o.output == [] and called(o, "customer_orders", customer="C-1207"),
         (customer_id, customer_orders), target=list[str]),
    # --- numbers with units ---
    Task("units_distance", "units", "How many kilometres is it by road from Paris to Berlin?",
         lambda o: ok(o) and o.output == 1054 and called(o, "distance"), (distance,), target=int),
    Task("units_file_size", "units", "How big is report.pdf, in megabytes?",
         lambda o: ok(o) and o.output == 2.4 and called(o, "file_size", path="report.pdf"), (file_size,),
         target=float),
    # --- no tool fits: say so instead of inventing ---
    Task("nofit_restaurant", "no_fit", "Find me the closest Italian restaurant.",
         _no_invention, (get_forecast, distance)),
    Task("nofit_translate", "no_fit", "Translate 'good morning' into Japanese with the tools.",
         _no_invention, (convert, file_size)),
    # --- a verifier whose feedback names what is wrong ---
    Task("verify_department", "verifier", "Who is employee E-311? Give their name and department.",
         lambda o: ok(o) and isinstance(o.output, Person) and o.output.department == "Research"
         and called(o, "employee_record"), (employee_record,), target=Person, verifier=_department_is_real),
]
