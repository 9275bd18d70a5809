package app

import (
	"reflect"

	"github.com/opsbot/opsbot/config"
)

var secretType = reflect.TypeOf(config.Secret(""))

// secretsIn walks config targets and returns every non-empty config.Secret,
// so the redactor masks them wherever they might surface.
func secretsIn(targets ...any) []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if !v.IsValid() {
			return
		}
		if v.Type() == secretType {
			if s := v.String(); s != "" {
				out = append(out, s)
			}
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		}
	}
	for _, t := range targets {
		walk(reflect.ValueOf(t))
	}
	return out
}
