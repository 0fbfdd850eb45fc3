package plugin

import (
	"bytes"
	"fmt"
)

// The time limit of a call is enforced in the guest's loops and function entries (the
// instrumentation's third rewrite, see instrument.go). Every loop of every function
// starts with, and every function wrapper runs, the check
//
//	$budget -= 1
//	if $budget == 0 {
//	    $budget = checkEvery
//	    drop(memory.grow(0))           ;; a trip out to Go and back
//	    if $stop { unreachable }
//	}
//
// where $budget and $stop are mutable i32 globals the instrumentation adds. When a
// call's context ends, the host sets $stop to 1 from another goroutine
// (instance.watch): the guest traps within checkEvery iterations, and the host, seeing
// its context done, reports a timeout and discards the instance.
//
// The trip out to Go (wazero runs memory.grow in Go) is what lets that goroutine set
// the flag at all: compiled code is never preempted, so a guest that never leaves it
// would hold up every stop-the-world of the host's garbage collector, and with it the
// goroutine that would stop the guest.
//
// wazero's own mechanism, WithCloseOnContextDone, makes that trip at every loop
// iteration (a few tens of nanoseconds), and the Go compiler's WebAssembly output
// starts every function with a loop (its resume points): a Go guest paid it at every
// function call, about 6× the cost of a no-op call. Here a loop iteration pays a
// decrement and a branch.

// checkEvery is how many loop iterations and function calls a guest runs between two
// checks of $stop.
const checkEvery = 1024

// timeCheck is the check's code, for the given globals; memory says whether the module
// has a memory for memory.grow (a plugin always has one, or is refused).
func timeCheck(budget, stop uint32, memory bool) []byte {
	b := []byte{0x23}
	b = append(b, uleb(uint64(budget))...)
	b = append(b, 0x41, 0x01, 0x6b, 0x24) // i32.const 1, i32.sub, global.set
	b = append(b, uleb(uint64(budget))...)
	b = append(b, 0x23)
	b = append(b, uleb(uint64(budget))...)
	b = append(b, 0x45, 0x04, 0x40, 0x41) // i32.eqz, if, i32.const checkEvery
	b = append(b, sleb(checkEvery)...)
	b = append(b, 0x24)
	b = append(b, uleb(uint64(budget))...)
	if memory {
		b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0, memory.grow 0, drop
	}
	b = append(b, 0x23)
	b = append(b, uleb(uint64(stop))...)
	return append(b, 0x04, 0x40, 0x00, 0x0b, 0x0b) // if, unreachable, end, end
}

// checkLoops returns body (a function body, locals included) with check at the start
// of every loop. It fails on an instruction it does not know, which wazero would
// refuse too.
func checkLoops(body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	for range r.u32() { // local declarations
		r.u32()
		r.byte()
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	var out bytes.Buffer
	out.Grow(len(body) + 64)
	copied := 0
	for r.more() {
		op := r.byte()
		if op == 0x03 { // loop blocktype
			r.leb()
			out.Write(body[copied:r.pos])
			out.Write(check)
			copied = r.pos
			continue
		}
		if err := skipImmediates(r, op); err != nil {
			return nil, err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	out.Write(body[copied:])
	return out.Bytes(), nil
}

// skipImmediates reads the immediates of the instruction whose opcode was just read.
func skipImmediates(r *reader, op byte) error {
	switch {
	case op <= 0x01, op == 0x05, op == 0x0a, op == 0x0b, op == 0x0f, op == 0x19, op == 0x1a, op == 0x1b,
		op == 0xd1, op >= 0x45 && op <= 0xc4:
		// no immediates
	case op == 0x02, op == 0x04, op == 0x06: // block, if, try: blocktype
		r.leb()
	case op == 0x07, op == 0x08, op == 0x09, op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, op == 0x18,
		op >= 0x20 && op <= 0x26, op == 0xd2:
		// catch, throw, rethrow, br, br_if, call, return_call, delegate, locals, globals,
		// table.get/set, ref.func: one index
		r.u32()
	case op == 0x0e: // br_table
		for range r.u32() {
			r.u32()
		}
		r.u32()
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect: type, table
		r.u32()
		r.u32()
	case op == 0x1c: // select with types
		for range r.u32() {
			r.byte()
		}
	case op == 0x1f: // try_table: blocktype, catches
		r.leb()
		for range r.u32() {
			if kind := r.byte(); kind <= 1 {
				r.u32()
			}
			r.u32()
		}
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f, op == 0x40, op == 0xd0: // memory.size, memory.grow, ref.null
		r.leb()
	case op == 0x41, op == 0x42: // i32.const, i64.const
		r.leb()
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xfc:
		return skipFC(r)
	case op == 0xfd:
		return skipSIMD(r)
	case op == 0xfe:
		if sub := r.u32(); sub == 0x03 { // atomic.fence
			r.byte()
		} else {
			r.memarg()
		}
	default:
		return fmt.Errorf("unknown opcode %#x at offset %d", op, r.pos-1)
	}
	return r.err
}

// skipFC reads a 0xfc instruction: saturating conversions, bulk memory and tables.
func skipFC(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 7: // trunc_sat
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		return fmt.Errorf("unknown instruction 0xfc %d at offset %d", sub, r.pos)
	}
	return r.err
}

// skipSIMD reads a 0xfd instruction.
func skipSIMD(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93: // loads, store, load zero
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	case sub > 0x113:
		return fmt.Errorf("unknown instruction 0xfd %d at offset %d", sub, r.pos)
	}
	return r.err
}

// leb reads a LEB128 number of any width and sign, without its value.
func (r *reader) leb() {
	for range 10 {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("number too long")
}

// memarg reads a memory argument: alignment (with a memory index when bit 6 is set) and
// offset.
func (r *reader) memarg() {
	if r.u32()&0x40 != 0 {
		r.u32()
	}
	r.leb()
}
