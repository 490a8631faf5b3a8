package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Unknown is one key the type does not know.
type Unknown struct {
	Path    string   // where the key's object is: "" for the top, "team[2]", "arrivals.surges[0]"
	Key     string   // the key itself
	Allowed []string // the keys that object may have, in declaration order
}

func (u Unknown) String() string {
	s := fmt.Sprintf("unknown field %q (allowed: %s)", u.Key, strings.Join(u.Allowed, ", "))
	if u.Path == "" {
		return s
	}
	return u.Path + ": " + s
}

// UnknownFields lists, depth first with each object's keys sorted (a
// stable order for messages and tests), every key of data that v's type (a pointer to the type
// json.Unmarshal would decode into) does not know. Keys match field names
// case-insensitively, as encoding/json matches them. A document that is
// not valid JSON has no unknown fields: the decoder reports it.
func UnknownFields(data []byte, v any) []Unknown {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil
	}
	var out []Unknown
	walk(reflect.TypeOf(v), doc, "", &out)
	return out
}

func walk(t reflect.Type, v any, path string, out *[]Unknown) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok || t == reflect.TypeFor[json.RawMessage]() {
			return
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			f, ok := lookup(fields, k)
			if !ok {
				names := make([]string, len(fields))
				for i, f := range fields {
					names[i] = f.name
				}
				*out = append(*out, Unknown{Path: path, Key: k, Allowed: names})
				continue
			}
			walk(f.typ, obj[k], join(path, f.name), out)
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return
		}
		for i, e := range list {
			walk(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			walk(t.Elem(), obj[k], join(path, k), out)
		}
	}
}

type field struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the exported fields of a struct under their JSON names.
// Embedded structs are not flattened: none of the files checked uses them.
func jsonFields(t reflect.Type) []field {
	var fs []field
	for sf := range t.Fields() {
		if !sf.IsExported() {
			continue
		}
		name := sf.Name
		if tag, ok := sf.Tag.Lookup("json"); ok {
			n, _, _ := strings.Cut(tag, ",")
			if n == "-" {
				continue
			}
			if n != "" {
				name = n
			}
		}
		fs = append(fs, field{name: name, typ: sf.Type})
	}
	return fs
}

// lookup finds the field a key decodes into: an exact match first, then
// a case-insensitive one, as encoding/json does.
func lookup(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Position says where a decoder stopped after reading offset bytes of data
// (a json.SyntaxError's or UnmarshalTypeError's Offset), as an editor
// counts: "line 3, column 14", the column of the last byte read.
func Position(data []byte, offset int64) string {
	offset = max(0, min(offset, int64(len(data))))
	before := data[:offset]
	line := strings.Count(string(before), "\n") + 1
	col := len(before) - (strings.LastIndexByte(string(before), '\n') + 1)
	return fmt.Sprintf("line %d, column %d", line, max(col, 1))
}

// Describe turns a decoding error of data into a message that lets a person
// fix the file without a JSON linter: where the decoder stopped (line and
// column) and, for a value of the wrong type, the field. document names
// what the file holds ("roster", "scenario"), for a file cut short.
func Describe(data []byte, err error, document string) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(data)) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return "empty file"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Sprintf("%s: the JSON ends before the %s does (a missing } or ], or a cut-off file)", Position(data, int64(len(data))), document)
	case errors.As(err, &syn):
		return fmt.Sprintf("%s: %s", Position(data, syn.Offset), strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		return Position(data, typ.Offset) + ": " + WrongType(typ)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// WrongType says what a value of the wrong type should have been, in the
// words of the file rather than of Go: "level: expected a whole number,
// got a JSON string", and for a whole entry that is no object, "expected
// an object ({...}), got a JSON string".
func WrongType(err *json.UnmarshalTypeError) string {
	s := fmt.Sprintf("expected %s, got a JSON %s", expected(err.Type), err.Value)
	if err.Field == "" {
		return s
	}
	return err.Field + ": " + s
}

// expected names the JSON a Go type decodes from.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list ([...])"
	case reflect.Struct, reflect.Map:
		return "an object ({...})"
	}
	return t.String()
}

// Duplicate is one key an object repeats.
type Duplicate struct {
	Path  string // where the key's object is, as Unknown.Path
	Key   string // the key itself
	Place string // the repeat's line and column (Position)
	First string // the key as first given, when it differs in case ("level" for "Level"); "" for the same spelling
}

func (d Duplicate) String() string {
	s := fmt.Sprintf("%s: duplicate key %q (JSON keeps only the last)", d.Place, d.Key)
	if d.First != "" {
		s = fmt.Sprintf("%s: duplicate key %q (the same field as %q: JSON keeps only the last)", d.Place, d.Key, d.First)
	}
	if d.Path == "" {
		return s
	}
	return d.Path + ": " + s
}

// DuplicateKeys lists, in the file's order, every key an object of data
// repeats after its first. encoding/json keeps the last value without a
// word, so {"level": 9, "level": 1} would read as level 1 however the
// person meant it. v is what data decodes into, as for UnknownFields: the
// keys of an object that decodes into a struct are compared as
// encoding/json matches them to fields, case-insensitively, so {"level":
// 9, "Level": 1} is a repeat too; the keys of a map, and of any value v's
// type does not describe (a json.RawMessage, an interface), are compared
// exactly, since a map keeps both. A document that is not valid JSON
// yields those found before the fault: the decoder reports it.
func DuplicateKeys(data []byte, v any) []Duplicate {
	// container is an object or list being read: the keys an object has
	// shown, and the index of a list's next element.
	type container struct {
		path    string
		typ     reflect.Type // what the container decodes into; nil when not known
		object  bool
		wantKey bool              // an object's next token is a key (or its end)
		keys    map[string]string // the key's identity (a struct's field name, or the key) -> the key as first given
		index   int
		key     string // an object's key whose value is being read
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*container
	var out []Duplicate
	// done moves the enclosing container past the value just read.
	done := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		var top *container
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			key, ok := tok.(string)
			if !ok { // the object's closing brace
				stack = stack[:len(stack)-1]
				done()
				continue
			}
			identity := key
			if top.typ != nil && top.typ.Kind() == reflect.Struct {
				if f, ok := lookup(jsonFields(top.typ), key); ok {
					identity = f.name
				}
			}
			if first, seen := top.keys[identity]; seen {
				d := Duplicate{Path: top.path, Key: key, Place: Position(data, dec.InputOffset())}
				if first != key {
					d.First = first
				}
				out = append(out, d)
			} else {
				top.keys[identity] = key
			}
			top.key, top.wantKey = key, false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			path, typ := "", indirect(reflect.TypeOf(v))
			switch {
			case top == nil:
			case top.object:
				path, typ = join(top.path, top.key), memberType(top.typ, top.key)
			default:
				path, typ = fmt.Sprintf("%s[%d]", top.path, top.index), memberType(top.typ, "")
			}
			object := tok == json.Delim('{')
			stack = append(stack, &container{path: path, typ: typ, object: object, wantKey: object, keys: map[string]string{}})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			done()
		default:
			done()
		}
	}
}

// memberType is the type of the value under key in a value of type t (a
// struct's field, a map's element), or of an element of a list: nil when
// t does not say, and for json.RawMessage, which holds JSON undecoded.
func memberType(t reflect.Type, key string) reflect.Type {
	if t == nil || t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if f, ok := lookup(jsonFields(t), key); ok {
			return indirect(f.typ)
		}
	case reflect.Map, reflect.Slice, reflect.Array:
		return indirect(t.Elem())
	}
	return nil
}

// indirect is t without its pointers; nil stays nil.
func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	return t
}
