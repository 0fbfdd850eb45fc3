// Package check finds broken future calls: stored calls that the loaded plugins can no
// longer run, because their method is gone or their arguments no longer fit the
// method's signature (a parameter renamed or removed, a type changed, a field of a
// record changed). A call whose plugin is not loaded here is reported apart, as
// unavailable here: it is not broken, it waits for a host that has the plugin. The
// check reads the signatures plugins declare in their manifests and never runs plugin
// code.
//
// [Run] walks every stored call with constant memory, validating arguments on all cores,
// and returns a [Report] that groups what is broken or unavailable by plugin, method and
// kind. With [Options.Delete] it removes the broken calls, and with
// [Options.DeleteUnavailable] the unavailable ones, recording each in the history as
// deleted_broken with its reason, so nothing disappears without a trace.
//
// The host uses it in three places:
//   - at start-up, steered by checkBrokenCalls and deleteBrokenCalls (see [Decide] and
//     [AtStartup]): by default only when fewer than AutoLimit calls are stored;
//   - in the maintenance role, which checks and exits; only there may
//     deleteUnavailableCalls delete the unavailable calls;
//   - in the pre-deploy command, which checks the stored calls against a candidate
//     plugins directory and exits with [ExitOK], [ExitBroken] or [ExitError] (see [PreDeploy]).
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package check
