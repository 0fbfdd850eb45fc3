package signature_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

func ExampleMethod_Validate() {
	sig, err := signature.Compile(abi.Method{
		Name: "welcome",
		Params: []abi.Param{{Name: "signup", Schema: json.RawMessage(`{
			"type": "object",
			"properties": {"userId": {"type": "integer"}, "email": {"type": "string"}},
			"required": ["userId", "email"],
			"additionalProperties": false}`)}},
	})
	if err != nil {
		panic(err)
	}
	err = sig.Validate(json.RawMessage(`{"signup": {"userId": "42"}, "note": "hi"}`))
	if verr := (*signature.Error)(nil); errors.As(err, &verr) {
		for _, v := range verr.Violations {
			fmt.Printf("%s: %s\n", v.Pointer, v.Message)
		}
	}
	// Output:
	// /note: unknown parameter
	// /signup/email: missing required property
	// /signup/userId: got string, want integer
}
