package fc_test

import (
	"fmt"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

// Signup is a record parameter: its JSON Schema comes from its fields and json tags.
type Signup struct {
	UserID int64    `json:"userId"`
	Email  string   `json:"email"`
	Tags   []string `json:"tags,omitempty"`
}

func welcome(c fc.Call, s Signup, note *string) error {
	fc.Logger().Info("welcome", "email", s.Email)
	return nil
}

func ExampleRegister() {
	// In a plugin, these calls go in an init function.
	fc.Plugin("drip", "1.0.0")
	fc.Register("welcome", welcome, "signup", "note")

	m, _ := fc.Manifest()
	for _, p := range m.Calls[0].Params {
		fmt.Printf("%s (optional: %t): %s\n", p.Name, p.Optional, p.Schema)
	}
	// Output:
	// signup (optional: false): {"additionalProperties":false,"properties":{"email":{"type":"string"},"tags":{"items":{"type":"string"},"type":["array","null"]},"userId":{"type":"integer"}},"required":["userId","email"],"type":"object"}
	// note (optional: true): {"type":"string"}
}

func ExampleLogger() {
	// Each record is one line of the host's log, at the record's level:
	// "follow-up e-mail to=ada@example.com attempt=2".
	fc.Logger().Info("follow-up e-mail", "to", "ada@example.com", "attempt", 2)
	// A plain line: "welcome e-mail to ada@example.com".
	fc.Logger().Info(fmt.Sprintf("welcome e-mail to %s", "ada@example.com"))
}
