// example_as: Serverpod's example future calls, written in AssemblyScript with
// sdk/assemblyscript, and kinds(), which reads a value of every JSON kind, logs what it
// read (the conformance test compares the line with every language's) and schedules
// itself again an hour later with the values it read.
import {
  BOOLEAN,
  Call,
  INTEGER,
  Level,
  log,
  method,
  NUMBER,
  Param,
  plugin,
  Schedule,
  STRING,
} from "@futurecalls/sdk-assemblyscript/assembly";
export { fc_alloc, fc_invoke, fc_manifest } from "@futurecalls/sdk-assemblyscript/assembly";

/** A point: the record parameter of kinds. */
class Point {
  static SCHEMA: string = `{"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
    "required": ["x", "y"], "additionalProperties": false}`;

  constructor(
    public x: i64,
    public y: i64,
  ) {}

  toJson(): string {
    return `{"x": ${this.x}, "y": ${this.y}}`;
  }
}

plugin("example_as", "1.0.0", "Serverpod's example future calls, in AssemblyScript");
method("doWork", "Does some work.", [], doWork);
method("doOtherWork", "Does other work with the given data.", [new Param("data", STRING)], doOtherWork);
method(
  "kinds",
  "Reads a value of every JSON kind, logs it, and calls itself again in an hour with it.",
  [
    new Param("text", STRING),
    new Param("count", INTEGER),
    new Param("ratio", NUMBER),
    new Param("flag", BOOLEAN),
    new Param("tags", '{"type": "array", "items": {"type": "string"}}'),
    new Param("point", Point.SCHEMA),
    new Param("note", STRING, true),
  ],
  kinds,
);

function doWork(call: Call): string | null {
  log(Level.Info, "doWork called");
  return null;
}

function doOtherWork(call: Call): string | null {
  log(Level.Info, "doOtherWork called with data: " + call.args.getString("data"));
  return null;
}

function kinds(call: Call): string | null {
  const args = call.args;
  const text = args.getString("text");
  const count = args.getInt("count");
  const ratio = args.getFloat("ratio");
  const flag = args.getBool("flag");
  const tags: string[] = [];
  const items = args.member("tags").items;
  for (let i = 0; i < items.length; i++) tags.push(items[i].text);
  const p = args.member("point");
  const point = new Point(p.getInt("x"), p.getInt("y"));
  // An optional parameter left out is null.
  const note = args.get("note");
  log(
    Level.Info,
    `kinds: text=${text} count=${count} ratio=${ratio} flag=${flag} tags=[${tags.join(",")}] ` +
      `point={x:${point.x} y:${point.y}} note=${note !== null ? note.text : "none"}`,
  );
  const again = new Schedule("kinds")
    .arg("text", text)
    .arg("count", count)
    .arg("ratio", ratio)
    .arg("flag", flag)
    .arg("tags", tags)
    .arg("point", point);
  if (note !== null) again.arg("note", note.text);
  return again.delay("1h").send();
}
