package rules

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// lazyVars is a rule's variables map: each variable is evaluated the first
// time an expression reads it, then kept. Conditions usually start with a
// cheap test (a message id, a field that is rarely there), so most rules
// never compute most of their variables. An absent variable reads as a
// missing key, so absence flows on as it would from the calculation.
type lazyVars struct {
	r     *compiled
	ctx   context.Context
	act   interpreter.Activation // sees this map as "variables"
	state []varState
	vals  []ref.Val
}

type varState uint8

const (
	varUnread varState = iota
	varReading
	varSet
	varAbsent
)

// reset makes l r's variables, none of them read yet, keeping its storage.
func (l *lazyVars) reset(ctx context.Context, r *compiled) {
	l.r, l.ctx = r, ctx
	l.state = slices.Grow(l.state[:0], len(r.vars))[:len(r.vars)]
	clear(l.state)
	l.vals = slices.Grow(l.vals[:0], len(r.vars))[:len(r.vars)]
	clear(l.vals)
}

// get returns the variable's value, (nil, false) when it is absent, or a
// CEL error value.
func (l *lazyVars) get(i int) (ref.Val, bool) {
	switch l.state[i] {
	case varSet:
		return l.vals[i], true
	case varAbsent:
		return nil, false
	case varReading:
		return types.NewErr("variables.%s refers to itself", l.r.Variables[i].Name), true
	}
	l.state[i] = varReading
	v, err := l.r.eval(l.ctx, l.r.vars[i], l.act)
	switch {
	case err != nil && isAbsent(err):
		l.state[i] = varAbsent
		return nil, false
	case err != nil:
		l.state[i] = varSet
		l.vals[i] = types.NewErr("variables.%s: %v", l.r.Variables[i].Name, err)
		return l.vals[i], true
	}
	if opt, ok := v.(*types.Optional); ok {
		// An optional variable is its value, or absent.
		if !opt.HasValue() {
			l.state[i] = varAbsent
			return nil, false
		}
		v = opt.GetValue()
	}
	l.state[i], l.vals[i] = varSet, v
	return v, true
}

func (l *lazyVars) index(key ref.Val) (int, bool) {
	name, ok := key.(types.String)
	if !ok {
		return 0, false
	}
	i, ok := l.r.varIndex[string(name)]
	return i, ok
}

// Find implements traits.Mapper, which is how CEL reads variables.NAME.
func (l *lazyVars) Find(key ref.Val) (ref.Val, bool) {
	i, ok := l.index(key)
	if !ok {
		return nil, false
	}
	return l.get(i)
}

func (l *lazyVars) Get(key ref.Val) ref.Val {
	v, ok := l.Find(key)
	if !ok {
		return types.NewErr("no such key: %v", key)
	}
	return v
}

func (l *lazyVars) Contains(key ref.Val) ref.Val {
	v, ok := l.Find(key)
	if ok && types.IsError(v) {
		return v
	}
	return types.Bool(ok)
}

// present evaluates every variable and returns those that are there.
func (l *lazyVars) present() map[string]ref.Val {
	out := map[string]ref.Val{}
	for i, v := range l.r.Variables {
		if val, ok := l.get(i); ok {
			out[v.Name] = val
		}
	}
	return out
}

func (l *lazyVars) Size() ref.Val { return types.Int(len(l.present())) }

func (l *lazyVars) Iterator() traits.Iterator {
	return types.DefaultTypeAdapter.NativeToValue(l.keys()).(traits.Lister).Iterator()
}

func (l *lazyVars) keys() []string {
	var ks []string
	for k := range l.present() {
		ks = append(ks, k)
	}
	return ks
}

func (l *lazyVars) ConvertToNative(typeDesc reflect.Type) (any, error) {
	return nil, fmt.Errorf("variables cannot be converted to %v", typeDesc)
}

func (l *lazyVars) ConvertToType(t ref.Type) ref.Val {
	if t == types.MapType {
		return l
	}
	if t == types.TypeType {
		return types.MapType
	}
	return types.NewErr("variables cannot be converted to %s", t.TypeName())
}

func (l *lazyVars) Equal(other ref.Val) ref.Val { return types.Bool(other == ref.Val(l)) }
func (l *lazyVars) Type() ref.Type              { return types.MapType }
func (l *lazyVars) Value() any                  { return l }

var _ traits.Mapper = (*lazyVars)(nil)
