// example_as: Serverpod's example future calls, written in AssemblyScript with
// sdk/assemblyscript.
import { Call, Level, log, method, Param, plugin, STRING } from "@futurecalls/sdk-assemblyscript/assembly";
export { fc_alloc, fc_invoke, fc_manifest } from "@futurecalls/sdk-assemblyscript/assembly";

plugin("example_as", "1.0.0", "Serverpod's example future calls, in AssemblyScript");
method("doWork", "Does some work.", [], doWork);
method("doOtherWork", "Does other work with the given data.", [new Param("data", STRING)], doOtherWork);

function doWork(call: Call): string | null {
  log(Level.Info, "doWork called");
  return null;
}

function doOtherWork(call: Call): string | null {
  log(Level.Info, "doOtherWork called with data: " + call.args.getString("data"));
  return null;
}
