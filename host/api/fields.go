package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"github.com/futurecalls/futurecalls/sdk/client"
)

// checkFields refuses what encoding/json would let through into a value of type t: a
// field name spelt in another case ("PLUGIN" for "plugin"), and an empty string given
// for a string field that omits it when empty, whose absence means something else
// ("delay": "" is not "due now"). It walks objects decoded into structs, at any depth;
// raw JSON (the arguments) is left to the signature check. data is valid JSON.
func checkFields(data []byte, t reflect.Type) *apiError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) != nil {
			return nil // not an object: encoding/json says why
		}
		for name, value := range fields {
			field, ok := fieldByJSONName(t, name)
			if !ok {
				return fail(http.StatusBadRequest, client.CodeUnknownField, "unknown field %q (field names are case-sensitive)", name)
			}
			if field.omitEmpty && field.typ.Kind() == reflect.String && bytes.Equal(value, []byte(`""`)) {
				return fail(http.StatusBadRequest, client.CodeInvalidRequest, "field %q is empty: leave it out instead", name)
			}
			if err := checkFields(value, field.typ); err != nil {
				return err
			}
		}
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return nil
		}
		for _, item := range items {
			if err := checkFields(item, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

type jsonField struct {
	typ       reflect.Type
	omitEmpty bool
}

// fieldByJSONName finds the field of struct t that encoding/json names exactly name.
func fieldByJSONName(t reflect.Type, name string) (jsonField, bool) {
	for f := range t.Fields() {
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return jsonField{typ: f.Type, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}, true
		}
	}
	return jsonField{}, false
}
