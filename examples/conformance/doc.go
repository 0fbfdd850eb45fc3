// Package conformance checks every plugin that `make plugins` built into plugins/ against
// the guest ABI v1 (abi/README.md), with wazero alone: no host, no database.
//
// For each plugins/*.wasm its test checks the imports (only the fc functions of the ABI,
// with their exact core types, and WASI preview 1) and the exports, instantiates the
// module with WASI and stub fc functions that record what they receive, calls
// _initialize when exported, reads and checks the manifest, runs the plugin's calls with
// valid envelopes on one instance (as a warm pool would), and checks that an unknown
// method fails with a message.
//
// The example plugins of every language share a convention, so that one test, and an
// end-to-end test through the host, can check each of them by its manifest name:
//
//   - "example" or "example_<lang>": Serverpod's example future call.
//     doWork() logs a line containing "doWork"; doOtherWork(data string) logs a line
//     containing data. Every SDK's example also has kinds(text string, count integer,
//     ratio number, flag boolean, tags string[], point {x, y integer}, note string?),
//     which logs exactly one line, the same in every language:
//     "kinds: text=<text> count=<count> ratio=<ratio, shortest form> flag=<true|false>
//     tags=[<tags joined by commas>] point={x:<x> y:<y>} note=<note, or none>",
//     then schedules kinds again with a delay of 1h and the values it read. In Go, kinds
//     is the plugin "kinds": the host's tests count the Go example's two methods.
//   - "drip" or "drip_<lang>": a drip campaign on a signup record
//     {userId integer, email string, plan "free"|"pro"}.
//     welcome(signup, note?) logs a line containing the e-mail address (and the note
//     when given), cancels the identifier "drip-user-<userId>", then schedules
//     followUp(signup) on its own plugin with a delay of "3d" and that identifier;
//     followUp(signup) sends an e-mail through the mail API the operator configured
//     (issue 14: config key mailUrl; version 1.1.0, retry policy 3 attempts 1s apart):
//     it reads mailUrl first and, on a host that configured none, logs "follow-up
//     e-mail to <email>: <subject>", the subject being "tips for pro users" for plan
//     pro and "try the pro plan" otherwise, without a request or a state access. The
//     e-mail itself is checked end to end, through a host (host/internal/e2e).
//     unsubscribe(userId integer) cancels "drip-user-<userId>" and logs a line containing
//     "unsubscribed user <userId>: <n> pending", n being what fc.cancel returned.
//     When fc.schedule refuses the follow-up, welcome fails with the reason fc.last_error
//     gives.
//
// The package has no code besides this comment: its test is all there is.
package conformance
