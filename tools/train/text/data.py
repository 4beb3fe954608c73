"""Generated training and held-out data for the demo text checkpoint (issues 5 and 17).

Kinds of examples, each with an exactly checkable answer:
- extraction: a short text about an order, a person, an event or a device, and its JSON
  record under one of the four schemas in SCHEMAS (written to testdata/heldout/text/schemas);
  and the spoken and pictured kinds of MEDIA_SCHEMAS, a command as demo-speech transcribes it
  and a scene as demo-vision captions it (testdata/heldout/text/media);
- instructions: arithmetic, copying, sorting a short list, reversing a list;
- training only (issue 17): copy tasks, and reading tasks that make the model read a value
  out of the text when the prompt also lists it (which of a listed set the text holds, enum
  fields asked with their list, currencies, dates to YYYY-MM-DD, field questions).

The prompt formats are the engine's: extraction uses engine/schema's system message
("Extract the information ... JSON Schema:\n" + the schema as compact JSON) and the answer
is the record as json.dumps writes it (", " and ": " separators, keys in schema order),
which is also the layout of engine/schema's scaffold. Every function takes a random.Random,
so data is a pure function of its seed. The four text kinds' held-out set draws from the
same functions and random stream as before issue 17, so it is the set that earlier checkpoints
were measured on; the media kinds' held-out set has a seed of its own.
"""

from __future__ import annotations

import json
import random

INSTRUCTION = "Extract the information in the user's text as JSON that validates against this JSON Schema:\n"

SCHEMAS = {
    "order": {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{4}$"},
            "customer": {"type": "string", "maxLength": 40},
            "product": {"type": "string", "maxLength": 40},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
            "total": {"type": "number", "minimum": 0},
            "currency": {"enum": ["USD", "EUR", "GBP"]},
            "status": {"enum": ["pending", "shipped", "delivered", "cancelled"]},
            "express": {"type": "boolean"},
        },
        "required": ["order_id", "customer", "product", "quantity", "total", "currency", "status"],
        "additionalProperties": False,
    },
    "person": {
        "type": "object",
        "properties": {
            "first_name": {"type": "string", "maxLength": 30},
            "last_name": {"type": "string", "maxLength": 30},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "city": {"type": "string", "maxLength": 30},
            "email": {"type": "string", "format": "email"},
            "role": {"enum": ["engineer", "teacher", "doctor", "designer", "manager", "student"]},
        },
        "required": ["first_name", "last_name", "age", "city", "role"],
        "additionalProperties": False,
    },
    "event": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 40},
            "date": {"type": "string", "format": "date"},
            "time": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"},
            "location": {"type": "string", "maxLength": 40},
            "attendees": {"type": "integer", "minimum": 1, "maximum": 999},
            "online": {"type": "boolean"},
        },
        "required": ["title", "date", "time", "location", "attendees", "online"],
        "additionalProperties": False,
    },
    "device": {
        "type": "object",
        "properties": {
            "device_id": {"type": "string", "pattern": "^[a-z]+-[0-9]{3}$"},
            "kind": {"enum": ["thermostat", "camera", "sensor", "router", "lock", "light"]},
            "room": {"type": "string", "maxLength": 30},
            "battery": {"type": "integer", "minimum": 0, "maximum": 100},
            "temperature": {"type": ["number", "null"]},
            "online": {"type": "boolean"},
        },
        "required": ["device_id", "kind", "room", "battery", "online"],
        "additionalProperties": False,
    },
}

FIRST = """Maria John Li Anna Omar Sofia Lucas Emma Noah Mia Ethan Ava Liam Zoe Ivan Nina Pablo Yuki Amir Lena
Carlos Hana Tom Sara Max Eva Ali Rosa Paul Ines Leo Ida Raj Mei Ben Kim Sam Jade Hugo Lea Oscar Nora Finn Alma Theo Vera
Ruth Adam Clara Felix Greta Jonas Lina Marco Olga Peter Rita Simon Tara Viktor Wendy Yara Zack Diego Elena Farah George
Helen Isaac Julia Kofi Laura Mateo Nadia Otto Priya Quinn Ravi Sven Tina Umar Vivian Walter Xenia Yusuf Zara""".split()
LAST = """Garcia Smith Wei Schmidt Khan Rossi Silva Brown Jones Miller Davis Lopez Wilson Moore Taylor Lee Martin Clark
Lewis Walker Hall Young King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans
Turner Torres Parker Collins Edwards Stewart Morris Murphy Cook Rogers Morgan Peterson Cooper Reed Bailey Bell Kelly
Howard Ward Cox Diaz Richardson Wood Watson Brooks Bennett Gray James Reyes Cruz Hughes Price Myers Long Foster Sanders
Ross Morales Powell Sullivan Russell Ortiz Jenkins Gutierrez Perry Butler Barnes Fisher Henderson Coleman Simmons
Patterson Jordan Reynolds Hamilton Graham Kim Gonzales Alexander Ramos Wallace Griffin West Cole Hayes Chavez Gibson
Bryant Ellis Stevens Murray Ford Marshall Owens McDonald Harrison Ruiz Kennedy Wells Alvarez Woods Mendoza Castillo""".split()
CITIES = """Berlin Paris Madrid Rome Lisbon Vienna Prague Warsaw Oslo Stockholm Dublin London Boston Denver Austin Seattle
Chicago Toronto Montreal Sydney Melbourne Tokyo Osaka Seoul Delhi Mumbai Cairo Nairobi Lagos Lima Bogota Santiago Quito
Athens Sofia Zagreb Riga Tallinn Vilnius Helsinki Munich Hamburg Lyon Porto Seville Milan Naples Geneva Zurich Bern""".split()
PRODUCTS = """laptop stand|desk lamp|coffee grinder|water bottle|running shoes|yoga mat|phone case|wireless mouse|keyboard|
backpack|travel mug|notebook|headphones|bike helmet|tea kettle|frying pan|camera bag|usb cable|power bank|monitor arm|
office chair|wall clock|table fan|rain jacket|sun hat|garden hose|tool kit|picture frame|bath towel|pillow""".replace("\n", "").split("|")
ROOMS = ["kitchen", "living room", "bedroom", "office", "garage", "hallway", "bathroom", "basement", "attic", "garden"]
EVENTS = ["team meeting", "book club", "product launch", "board review", "yoga class", "code review", "wine tasting",
          "charity run", "design sprint", "quiz night", "jazz concert", "science fair", "town hall", "hack day"]
PLACES = ["Room 4", "the main hall", "Cafe Luna", "the library", "City Park", "Studio B", "the town square",
          "Hotel Astra", "the harbor", "Gym 2"] + CITIES
DOMAINS = ["example.com", "mail.org", "acme.io", "globex.net", "post.de", "inbox.fr"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WORDS = """apple river stone cloud green table quick lamp window seven orange music paper silver garden winter bright
coffee yellow mountain pencil rabbit summer candle forest planet rocket ocean bread violet tiger honey glass north
shadow copper maple thunder velvet anchor breeze cactus dragon ember falcon harbor island jungle kettle lemon meadow""".split()


def compact(obj) -> str:
    """engine/schema's compact JSON of a schema (no spaces, key order kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def system_prompt(name: str) -> str:
    return INSTRUCTION + compact(ALL_SCHEMAS[name])


def _money(r):
    return round(r.randint(100, 99999) / 100, 2)


def _num(x):
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def order_id(r: random.Random) -> str:
    """An id matching the order schema's pattern ^[A-Z]{2}-[0-9]{4}$."""
    return f"{r.choice('ABCDEFGHJKLMNPRSTUVWXZ')}{r.choice('ABCDEFGHJKLMNPRSTUVWXZ')}-{r.randint(0, 9999):04d}"


def order(r: random.Random):
    rec = {
        "order_id": order_id(r),
        "customer": f"{r.choice(FIRST)} {r.choice(LAST)}",
        "product": r.choice(PRODUCTS),
        "quantity": r.choice([1, 1, 2, 2, 3, 4, 5, 6, 10, 12, r.randint(1, 99)]),
        "total": _money(r),
        "currency": r.choice(["USD", "EUR", "GBP"]),
        "status": r.choice(["pending", "shipped", "delivered", "cancelled"]),
    }
    express = r.choice([True, False, None])
    if express is not None:
        rec["express"] = express
    sym = {"USD": "$", "EUR": "EUR ", "GBP": "GBP "}[rec["currency"]]
    money = r.choice([f"{sym}{_num(rec['total'])}", f"{_num(rec['total'])} {rec['currency']}"])
    q, p = rec["quantity"], rec["product"]
    ship = {True: r.choice(["express shipping", "express delivery"]), False: "standard shipping", None: ""}[express]
    t = r.choice([
        "Order {id} from {c}: {q} x {p}, total {m}, status {s}.{sh}",
        "{c} ordered {q} {p} ({id}) for {m}. The order is {s}.{sh}",
        "Status {s} for order {id}. Customer {c} bought {q} x {p} and paid {m}.{sh}",
        "New order {id}: {c}, {p}, quantity {q}, {m}, {s}.{sh}",
    ])
    sh = f" Shipping: {ship}." if ship else ""
    return t.format(id=rec["order_id"], c=rec["customer"], q=q, p=p, m=money, s=rec["status"], sh=sh), rec


def person(r: random.Random):
    f, l = r.choice(FIRST), r.choice(LAST)
    rec = {"first_name": f, "last_name": l, "age": r.randint(18, 90), "city": r.choice(CITIES)}
    has_mail = r.random() < 0.6
    if has_mail:
        rec["email"] = f"{f.lower()}{r.choice(['.', '_', ''])}{l.lower()}@{r.choice(DOMAINS)}"
    rec["role"] = r.choice(["engineer", "teacher", "doctor", "designer", "manager", "student"])
    mail = f" Email: {rec['email']}." if has_mail else ""
    t = r.choice([
        "{f} {l} is a {a}-year-old {ro} from {c}.{m}",
        "Meet {f} {l}, {a}, who works as a {ro} in {c}.{m}",
        "{l}, {f}: {ro}, age {a}, lives in {c}.{m}",
        "Our new {ro} {f} {l} ({a}) is based in {c}.{m}",
    ])
    return t.format(f=f, l=l, a=rec["age"], ro=rec["role"], c=rec["city"], m=mail), rec


def event(r: random.Random):
    y, mo, d = r.choice([2025, 2026, 2027]), r.randint(1, 12), r.randint(1, 28)
    hh, mm = r.randint(7, 21), r.choice([0, 15, 30, 45])
    rec = {
        "title": r.choice(EVENTS),
        "date": f"{y}-{mo:02d}-{d:02d}",
        "time": f"{hh:02d}:{mm:02d}",
        "location": r.choice(PLACES),
        "attendees": r.choice([r.randint(2, 30), r.randint(10, 500)]),
        "online": r.random() < 0.3,
    }
    date = r.choice([rec["date"], f"{MONTHS[mo - 1]} {d}, {y}", f"{d} {MONTHS[mo - 1]} {y}"])
    how = "online" if rec["online"] else "in person"
    t = r.choice([
        "The {ti} takes place on {dt} at {tm} in {lo}, {how}, with {n} attendees.",
        "Reminder: {ti}, {dt}, {tm}, {lo}. {n} people signed up ({how}).",
        "{n} guests are expected at the {ti} ({how}) in {lo} on {dt}, starting {tm}.",
        "Join the {ti} at {lo} on {dt} at {tm}; it is {how} and {n} attend.",
    ])
    return t.format(ti=rec["title"], dt=date, tm=rec["time"], lo=rec["location"], how=how, n=rec["attendees"]), rec


def device(r: random.Random):
    kind = r.choice(["thermostat", "camera", "sensor", "router", "lock", "light"])
    rec = {
        "device_id": f"{kind[:r.randint(3, 5)]}-{r.randint(0, 999):03d}",
        "kind": kind,
        "room": r.choice(ROOMS),
        "battery": r.randint(0, 100),
    }
    temp = None if r.random() < 0.3 else round(r.randint(-50, 350) / 10, 1)
    rec["temperature"] = temp
    rec["online"] = r.random() < 0.7
    tt = "no temperature reading" if temp is None else f"temperature {_num(temp)} C"
    st = "online" if rec["online"] else "offline"
    t = r.choice([
        "Device {id} ({k}) in the {ro}: battery {b}%, {tt}, {st}.",
        "The {k} {id} in the {ro} is {st} with {b}% battery and {tt}.",
        "{ro} {k} {id} reports battery {b}% and {tt}; status {st}.",
        "Status of {id}: {st}. Kind {k}, room {ro}, battery at {b}%, {tt}.",
    ])
    return t.format(id=rec["device_id"], k=kind, ro=rec["room"], b=rec["battery"], tt=tt, st=st), rec


EXTRACTORS = {"order": order, "person": person, "event": event, "device": device}


# Record kinds of spoken and pictured inputs (issue 17's extraction from audio and images): the
# text model extracts from what demo-speech transcribes (commands) and demo-vision captions
# (scenes), in those models' words; the generators are theirs (tools/train/speech/data.py,
# tools/train/vision/scenes.py).
def _load(name, rel):
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", rel)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_speech = _load("speech_data", "speech/data.py")
_scenes = _load("vision_scenes", "vision/scenes.py")

_REGION = {"type": "string", "maxLength": 40}
MEDIA_SCHEMAS = {
    "command": {
        "type": "object",
        "properties": {
            "action": {"enum": ["turn on", "turn off", "open", "close"]},
            "device": {"type": "string", "maxLength": 20},
            "room": {"type": "string", "maxLength": 20},
        },
        "required": ["action", "device", "room"],
        "additionalProperties": False,
    },
    "scene": {
        "type": "object",
        "properties": {**{k: dict(_REGION) for k in _scenes.REGION_ORDER},
                       "label": {"type": "string", "maxLength": 3},
                       "label_position": {"enum": ["top", "center", "bottom"]}},
        "additionalProperties": False,
    },
}
ALL_SCHEMAS = {**SCHEMAS, **MEDIA_SCHEMAS}


def command(r: random.Random):
    """A spoken command as demo-speech transcribes it ("turn on the hallway oven") and its record."""
    room = r.choice(_speech.ROOMS)
    if r.random() < 0.6:
        action, dev = f"turn {r.choice(['on', 'off'])}", r.choice(_speech.DEVICES)
    else:
        action, dev = r.choice(["open", "close"]), r.choice(_speech.OPENABLE)
    return f"{action} the {room} {dev}", {"action": action, "device": dev, "room": room}


def scene(r: random.Random):
    """A scene caption as demo-vision writes it and its record: what each region holds, the
    label and where it is."""
    sc = _scenes.sample_scene(r)
    rec = {}
    for region, count, color, shape in sorted(sc["groups"], key=lambda g: _scenes.REGION_ORDER.index(g[0])):
        art = "an" if color[0] in "aeiou" else "a"
        rec[region] = f"{art} {color} {shape}" if count == 1 else f"{_scenes.COUNT_WORDS[count]} {color} {shape}s"
    if sc["label"] is not None:
        rec["label"], rec["label_position"] = sc["label"], sc["label_region"]
    return _scenes.caption(sc), rec


MEDIA_EXTRACTORS = {"command": command, "scene": scene}
ALL_EXTRACTORS = {**EXTRACTORS, **MEDIA_EXTRACTORS}
# Words of the spoken and pictured kinds, for the copy tasks.
MEDIA_WORDS = (_speech.ROOMS + _speech.DEVICES + _speech.OPENABLE + list(_scenes.COLORS) + _scenes.SHAPES
               + [s + "s" for s in _scenes.SHAPES] + list(_scenes.COUNT_WORDS.values()) + ["turn on", "turn off"])


def instruction(r: random.Random):
    """(user text, answer) for one of the instruction tasks."""
    k = r.randrange(6)
    if k == 0:
        a, b = r.randint(0, 99), r.randint(0, 99)
        return r.choice(["What is {a} + {b}?", "Add {a} and {b}.", "Compute {a} + {b}."]).format(a=a, b=b), str(a + b)
    if k == 1:
        a, b = r.randint(0, 99), r.randint(0, 99)
        a, b = max(a, b), min(a, b)
        return r.choice(["What is {a} - {b}?", "Subtract {b} from {a}."]).format(a=a, b=b), str(a - b)
    if k == 2:
        a, b = r.randint(0, 12), r.randint(0, 12)
        return r.choice(["What is {a} * {b}?", "Multiply {a} by {b}."]).format(a=a, b=b), str(a * b)
    if k == 3:
        ws = r.sample(WORDS, r.randint(2, 6))
        return r.choice(["Repeat exactly: ", "Copy this: "]) + " ".join(ws), " ".join(ws)
    if k == 4:
        xs = [r.randint(0, 99) for _ in range(r.randint(2, 6))]
        return "Sort in ascending order: " + ", ".join(map(str, xs)), ", ".join(map(str, sorted(xs)))
    ws = r.sample(WORDS, r.randint(2, 5))
    return "Reverse the list: " + ", ".join(ws), ", ".join(reversed(ws))


def _copy_item(r: random.Random) -> str:
    k = r.randrange(6)
    if k <= 1:
        return r.choice(FIRST + LAST + CITIES + WORDS + ROOMS + EVENTS + PRODUCTS + MEDIA_WORDS)
    if k == 2:
        return str(r.choice([r.randint(0, 99), r.randint(100, 9999), r.randint(0, 99999) / 100]))
    if k == 3:
        return order_id(r)
    if k == 4:
        return f"{r.choice(['lock', 'cam', 'sens', 'light', 'rout', 'therm'])}-{r.randint(0, 999):03d}"
    return f"{r.randint(2025, 2027)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"


def copy_task(r: random.Random):
    """Copying 1-8 items (names, cities, words, products, numbers, ids, dates): the circuit that
    copies a value out of the text, trained on its own at the start of a run (train.py
    --copy-steps) and kept in the mix afterwards."""
    ws = [_copy_item(r) for _ in range(r.randint(1, 8))]
    sep = r.choice([" ", ", "])
    return r.choice(["Repeat exactly: ", "Copy this: "]) + sep.join(ws), sep.join(ws)


def example(r: random.Random, extraction_frac=0.7):
    """One training example: (system or None, user, answer, schema name or None, record or None)."""
    if r.random() < extraction_frac:
        name = r.choice(list(EXTRACTORS))
        text, rec = EXTRACTORS[name](r)
        return system_prompt(name), text, json.dumps(rec, ensure_ascii=False), name, rec
    user, ans = instruction(r)
    return None, user, ans, None, None


# ---------------------------------------------------------------------------------------
# Training-only tasks (issue 17's retrain). The held-out sets and the tokenizer corpus use
# only the functions above, so they are unchanged by what follows.
# ---------------------------------------------------------------------------------------

# The fields the first checkpoint got wrong: enum values that the schema also lists, dates
# written with month names, and the nullable temperature. Field questions ask for them half
# the time.
HARD_FIELDS = [("person", "role"), ("order", "status"), ("order", "currency"), ("event", "date"),
               ("device", "temperature"), ("device", "kind")]


def _listed(r: random.Random, spec: dict) -> dict:
    """A copy of a property's schema with its enum list (if any) shuffled."""
    spec = json.loads(json.dumps(spec))
    if "enum" in spec:
        r.shuffle(spec["enum"])
    return spec


def variant_system_prompt(r: random.Random, name: str) -> str:
    """The schema's system prompt with each enum list shuffled (the values stay the same, so
    the scaffold is the same): a constant prior over listed values stops paying, the text must
    be read."""
    s = dict(ALL_SCHEMAS[name])
    s["properties"] = {k: _listed(r, v) for k, v in s["properties"].items()}
    return INSTRUCTION + compact(s)


def field_question(r: random.Random):
    """(user, answer): one field of a generated record, asked with its schema, which lists the
    enum values (shuffled) as the system prompt does; the answer is the value as JSON (null for
    an absent optional field)."""
    if r.random() < 0.5:
        name, prop = r.choice(HARD_FIELDS)
        text, rec = EXTRACTORS[name](r)
    else:
        name = r.choice(list(EXTRACTORS))
        text, rec = EXTRACTORS[name](r)
        prop = r.choice(list(SCHEMAS[name]["properties"]))
    spec = _listed(r, SCHEMAS[name]["properties"][prop])
    q = r.choice(['The "{p}" of this text as JSON under {s}: {t}', 'Text: {t}\nGive "{p}" as JSON ({s}).'])
    return q.format(p=prop, s=compact(spec), t=text), json.dumps(rec.get(prop), ensure_ascii=False)


def pick_task(r: random.Random):
    """(user, answer): which item of a listed set the text holds. The list holds the answer
    too, as a schema's enum does, so copying from the list is no help."""
    pool = r.choice([WORDS, CITIES, ROOMS, PRODUCTS, EVENTS, FIRST, SCHEMAS["person"]["properties"]["role"]["enum"],
                     SCHEMAS["order"]["properties"]["status"]["enum"], SCHEMAS["device"]["properties"]["kind"]["enum"]])
    opts = r.sample(pool, min(len(pool), r.randint(3, 7)))
    ans = r.choice(opts)
    others = [_copy_item(r) for _ in range(r.randint(1, 5))]
    others.insert(r.randrange(len(others) + 1), ans)
    return f"Which of {compact(opts)} is in: {' '.join(others)}", json.dumps(ans)


def currency_task(r: random.Random):
    """(user, answer): the currency of an amount written the order texts' ways ($12.5, EUR 12.5,
    12.5 GBP)."""
    cur = r.choice(["USD", "EUR", "GBP"])
    amount = _num(_money(r))
    sym = {"USD": "$", "EUR": "EUR ", "GBP": "GBP "}[cur]
    opts = ["USD", "EUR", "GBP"]
    r.shuffle(opts)
    m = r.choice([f"{sym}{amount}", f"{amount} {cur}"])
    return f"Which of {compact(opts)} is the currency of {m}?", json.dumps(cur)


def date_task(r: random.Random):
    """(user, answer): a date written as the event texts write it, as YYYY-MM-DD."""
    y, mo, d = r.randint(2024, 2028), r.randint(1, 12), r.randint(1, 31 if r.random() < 0.2 else 28)
    iso = f"{y}-{mo:02d}-{d:02d}"
    shown = r.choice([f"{MONTHS[mo - 1]} {d}, {y}", f"{d} {MONTHS[mo - 1]} {y}", iso])
    return r.choice(["Write as YYYY-MM-DD: {d}", "The date {d} in ISO format:"]).format(d=shown), iso


ENUM_FIELDS = [(n, p) for n, sch in ALL_SCHEMAS.items() for p, spec in sch["properties"].items() if "enum" in spec]


def enum_question(r: random.Random):
    """(user, answer): an enum field of a generated record, asked with its (shuffled) list."""
    name, prop = r.choice(ENUM_FIELDS)
    while True:
        text, rec = ALL_EXTRACTORS[name](r)
        if prop in rec:
            break
    spec = _listed(r, ALL_SCHEMAS[name]["properties"][prop])
    return f'The "{prop}" of this text as JSON under {compact(spec)}: {text}', json.dumps(rec[prop])


def _one_of(r: random.Random, table):
    """Calls one task of table [(share, task), ...], drawn by share."""
    x, acc = r.random(), 0.0
    for share, task in table[:-1]:
        acc += share
        if x < acc:
            return task(r)
    return table[-1][1](r)


def reading_task(r: random.Random):
    """(user, answer) of the reading phase (train.py --read-steps): which listed value the
    text holds (30%), enum fields (30%), currencies (10%), dates (30%). A list that holds the
    answer too defeats the copy circuit, which copies from the list as readily as from the
    text; this phase forms the circuit that reads the text (measured: tools/train/README.md)."""
    return _one_of(r, [(0.3, pick_task), (0.3, enum_question), (0.1, currency_task), (0.3, date_task)])


def aux_task(r: random.Random):
    """(user, answer) of one training-only task of the main mix: field questions 50%, picking
    from a list 20%, dates 20%, currencies 10%."""
    return _one_of(r, [(0.5, field_question), (0.2, pick_task), (0.2, date_task), (0.1, currency_task)])


# Extraction kinds of the main mix and their weights (the spoken and pictured kinds lighter).
TRAIN_KINDS = list(EXTRACTORS) + list(MEDIA_EXTRACTORS)
TRAIN_WEIGHTS = [1, 1, 1, 1, 0.2, 0.4]


def training_example(r: random.Random, extraction_frac=0.6, aux_frac=0.2, variant_frac=0.3):
    """One example of the retrain's main mix: (system or None, user, answer, schema name or
    None, record or None, group). Extraction (its system prompt a shuffled-enum variant with
    probability variant_frac), training-only tasks, or the held-out instruction kinds. group
    keys the batcher's grouping (rows of one group share their system prompt)."""
    x = r.random()
    if x < extraction_frac:
        name = r.choices(TRAIN_KINDS, TRAIN_WEIGHTS)[0]
        text, rec = ALL_EXTRACTORS[name](r)
        variant = r.random() < variant_frac
        system = variant_system_prompt(r, name) if variant else system_prompt(name)
        return system, text, json.dumps(rec, ensure_ascii=False), name, rec, name + ("~" if variant else "")
    if x < extraction_frac + aux_frac:
        user, ans = aux_task(r)
        return None, user, ans, None, None, ""
    user, ans = instruction(r)
    return None, user, ans, None, None, ""
