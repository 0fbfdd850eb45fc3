package plugin

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The instrumentation rewrites a module before it is compiled, so that what a guest can
// make the host allocate, and how long it runs, stay within configured limits, in ways
// wazero offers no option for (or none as cheap, for the time limit):
//
//   - Tables: every table's maximum becomes min(its declared maximum, the table limit),
//     so that wazero refuses a table.grow beyond it (the guest gets -1, as for
//     memory.grow). A module whose table starts above the limit is refused.
//   - The call stack: every defined function i keeps its index but becomes a wrapper of
//     the same type that adds the function's weight (an upper bound of the native stack
//     its frame and the wrapper's take, see frameWeight) to a new mutable i32 global,
//     traps with unreachable when the sum exceeds the stack limit, calls the original
//     body (moved to index i+N, N being the number of defined functions) and subtracts
//     the weight again. Every call site, export, element segment and the start
//     function keep their indices, so they all go through the wrappers.
//   - The time limit: every loop and every wrapper counts down a new global and, every
//     checkEvery times, steps out to Go and checks a flag the host sets when a call's
//     time is up (loopcheck.go). The check at the start of loops is the only change
//     inside function bodies: no instruction of the guest is changed.
//
// It also takes the data segments out, into an image of the initial memory that every
// instance maps copy-on-write (dataImage), or, where it cannot, merges data segments that
// follow each other in memory (mergeData): either way what each instance costs the host
// shrinks.
//
// Three exports are added, under names a plugin may not use: the stack budget's global
// (stackUsedExport), which tells a trap of the budget from any other after the fact;
// the stop flag (stopExport); and, when the module has tables, a function returning the
// sum of their sizes (tableSizeExport), which tells whether an instance's tables grew. The name section's
// function and local names move with the bodies; the wrappers carry the same names, so
// a trace names every guest function (each one twice: wrapper and body).

const (
	// stackUsedExport is the exported global holding the stack budget in use, in bytes.
	stackUsedExport = "futurecalls.stack_used"
	// tableSizeExport is the exported function returning the sum of the table sizes.
	tableSizeExport = "futurecalls.table_size"
	// stopExport is the exported global that stops the guest at its next loop
	// iteration when set (loopcheck.go).
	stopExport = "futurecalls.stop"
)

// Frame weights, in bytes, of wazevo's native frames (its amd64 and arm64 backends:
// backend/isa/*/machine.go requiredStackSize and the prologue's layout). A frame holds
// the return address and caller's frame pointer, the saved (clobbered) registers, the
// spill slots of the SSA values that do not stay in registers, and the outgoing
// argument and result slots of the largest call it makes.
const (
	// frameFixed covers, for the wrapper and the body each, the return address, the
	// frame pointer, the stack check's slot and every allocatable register saved
	// (the callee-saved ones: 13 on amd64, 23 on arm64; 16 bytes each).
	frameFixed = 2 * (32 + 24*16)
	// slotSize is the most a spill slot or argument slot takes (a v128 value).
	slotSize = 16
	// valueBytesPerBodyByte bounds the spill slots a body's instructions can define:
	// an instruction is at least one byte and defines at most one scalar value (8
	// bytes) unless it is a call or block with several results (counted with
	// maxResults); v128 values (16 bytes) come from instructions of two bytes or more.
	valueBytesPerBodyByte = 8
)

// instrumented is a module after instrument.
type instrumented struct {
	// bin is the rewritten module.
	bin []byte
	// tables is the sum of the tables' initial sizes: an instance whose tables are
	// larger has grown them.
	tables uint32
	// hasTables says whether the module has tables (and the tableSizeExport function).
	hasTables bool
	// image is the initial content of the memory from address 0, taken out of the
	// module's data segments (dataImage); nil when the module keeps its segments.
	image []byte
}

// instrument rewrites a WebAssembly binary module as described above; tableLimit is in
// elements, stackLimit in bytes. It refuses what it cannot bound: imported tables,
// tables starting above tableLimit, and the exports it reserves.
func instrument(bin []byte, tableLimit, stackLimit uint32) (*instrumented, error) {
	secs, err := splitSections(bin)
	if err != nil {
		return nil, err
	}
	m, err := readModule(secs)
	if err != nil {
		return nil, err
	}
	out := &instrumented{}
	if err := m.limitTables(secs, tableLimit, out); err != nil {
		return nil, err
	}
	n := uint32(len(m.funcTypes))
	if n == 0 {
		return nil, errors.New("module defines no functions")
	}
	stackGlobal := m.importedGlobals + m.definedGlobals
	stopGlobal, budgetGlobal := stackGlobal+1, stackGlobal+2
	check := timeCheck(budgetGlobal, stopGlobal, m.hasMemory)
	for i, body := range m.bodies {
		if m.bodies[i], err = checkLoops(body, check); err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importedFuncs+uint32(i), err)
		}
	}
	getter := m.importedFuncs + 2*n // the table-size function, after wrappers and bodies

	var b bytes.Buffer
	b.Write(bin[:8])
	put := func(id byte, content []byte) {
		b.WriteByte(id)
		b.Write(uleb(uint64(len(content))))
		b.Write(content)
	}
	// The global and export sections get entries even when the module has none: they
	// are then written where they belong, before the first section that follows them.
	wrote := map[byte]bool{}
	rewritten := map[byte]func() []byte{
		secType:     m.typeSection,
		secFunction: m.functionSection,
		secGlobal:   m.globalSection,
		secExport:   func() []byte { return m.exportSection(stackGlobal, stopGlobal, getter) },
		secCode:     func() []byte { return m.codeSection(stackGlobal, stackLimit, check) },
	}
	out.image, secs = dataImage(secs)
	hasDataCount := false
	for _, s := range secs {
		hasDataCount = hasDataCount || s.id == secDataCount
	}
	for i := range secs {
		if secs[i].id == secData {
			secs[i].content = mergeData(secs[i].content, hasDataCount)
		}
	}
	for _, s := range secs {
		for _, id := range []byte{secGlobal, secExport} {
			if !wrote[id] && s.id != secCustom && order(s.id) > order(id) {
				put(id, rewritten[id]())
				wrote[id] = true
			}
		}
		switch {
		case rewritten[s.id] != nil:
			put(s.id, rewritten[s.id]())
			wrote[s.id] = true
		case s.id == secCustom && s.name == "name":
			if c, ok := m.nameSection(s.content); ok {
				put(secCustom, c)
			}
		default: // the table section was rewritten in place by limitTables
			put(s.id, s.content)
		}
	}
	for _, id := range []byte{secGlobal, secExport} {
		if !wrote[id] {
			put(id, rewritten[id]())
		}
	}
	out.bin = b.Bytes()
	out.hasTables = m.tableCount > 0
	return out, nil
}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// order is a section's place in a module: the tag section comes between memory and
// global, the data count section between element and code.
func order(id byte) int {
	switch id {
	case secTag:
		return secMemory*2 + 1
	case secDataCount:
		return secElement*2 + 1
	}
	return int(id) * 2
}

// section is one section of a binary module.
type section struct {
	id      byte
	name    string // a custom section's name
	content []byte // a custom section's content starts after its name
}

// splitSections checks the header and splits a module into its sections.
func splitSections(bin []byte) ([]section, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly binary module")
	}
	if binary.LittleEndian.Uint32(bin[4:8]) != 1 {
		return nil, fmt.Errorf("WebAssembly binary version %d, want 1", binary.LittleEndian.Uint32(bin[4:8]))
	}
	r := &reader{b: bin[8:]}
	var secs []section
	for r.more() {
		id := r.byte()
		size := r.u32()
		content := r.bytes(size)
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		s := section{id: id, content: content}
		if id == secCustom {
			cr := &reader{b: content}
			s.name = cr.name()
			if cr.err != nil {
				return nil, fmt.Errorf("custom section: %w", cr.err)
			}
			s.content = content // the name stays part of the content
		}
		secs = append(secs, s)
	}
	return secs, nil
}

// funcType is a function type's parameter and result types.
type funcType struct {
	params, results []byte
}

// module is what instrument needs to know of a module.
type module struct {
	types           []funcType
	importedFuncs   uint32
	importedGlobals uint32
	definedGlobals  uint32
	globalEntries   []byte   // the global section's entries, after its count
	funcTypes       []uint32 // type index of each defined function
	tableCount      uint32
	hasMemory       bool // defined or imported
	exportCount     uint32
	exportEntries   []byte
	bodies          [][]byte // each defined function's body, locals included
	getterTypeIndex uint32   // the type () -> i32, added when missing (see getterType)
	addGetterType   bool
}

// readModule reads the sections instrument rewrites.
func readModule(secs []section) (*module, error) {
	m := &module{}
	for _, s := range secs {
		r := &reader{b: s.content}
		switch s.id {
		case secType:
			for range r.u32() {
				if form := r.byte(); form != 0x60 && r.err == nil {
					return nil, fmt.Errorf("type section: type form %#x is not a function type", form)
				}
				m.types = append(m.types, funcType{params: r.bytes(r.u32()), results: r.bytes(r.u32())})
			}
		case secImport:
			for range r.u32() {
				mod, field := r.name(), r.name()
				switch kind := r.byte(); kind {
				case 0x00: // function
					r.u32()
					m.importedFuncs++
				case 0x01: // table
					return nil, fmt.Errorf("imports table %s.%s: a plugin must define its own tables", mod, field)
				case 0x02: // memory: refused by checkImports, with its reason
					r.limits()
					m.hasMemory = true
				case 0x03: // global
					r.byte()
					r.byte()
					m.importedGlobals++
				default:
					return nil, fmt.Errorf("import %s.%s: unknown kind %#x", mod, field, kind)
				}
			}
		case secFunction:
			for range r.u32() {
				m.funcTypes = append(m.funcTypes, r.u32())
			}
		case secGlobal:
			m.definedGlobals = r.u32()
			m.globalEntries = r.rest()
		case secExport:
			m.exportCount = r.u32()
			m.exportEntries = r.rest()
			er := &reader{b: m.exportEntries}
			for range m.exportCount {
				if n := er.name(); n == stackUsedExport || n == tableSizeExport || n == stopExport {
					return nil, fmt.Errorf("exports %q, a name the host reserves", n)
				}
				er.byte()
				er.u32()
			}
			if er.err != nil {
				return nil, fmt.Errorf("export section: %w", er.err)
			}
		case secCode:
			for range r.u32() {
				m.bodies = append(m.bodies, r.bytes(r.u32()))
			}
		case secTable:
			m.tableCount = r.u32()
		case secMemory:
			m.hasMemory = r.u32() > 0
		}
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, r.err)
		}
	}
	if len(m.bodies) != len(m.funcTypes) {
		return nil, fmt.Errorf("%d function bodies for %d functions", len(m.bodies), len(m.funcTypes))
	}
	for i, t := range m.funcTypes {
		if t >= uint32(len(m.types)) {
			return nil, fmt.Errorf("function %d has type %d of %d", i, t, len(m.types))
		}
	}
	m.getterTypeIndex = uint32(len(m.types))
	m.addGetterType = true
	for i, t := range m.types {
		if len(t.params) == 0 && bytes.Equal(t.results, []byte{0x7f}) {
			m.getterTypeIndex, m.addGetterType = uint32(i), false
			break
		}
	}
	if m.tableCount == 0 {
		m.addGetterType = false
	}
	return m, nil
}

// functionSection declares the wrappers' types, the bodies' (the same) and the
// table-size function's.
func (m *module) functionSection() []byte {
	var c bytes.Buffer
	n := 2 * len(m.funcTypes)
	if m.tableCount > 0 {
		n++
	}
	c.Write(uleb(uint64(n)))
	for range 2 {
		for _, t := range m.funcTypes {
			c.Write(uleb(uint64(t)))
		}
	}
	if m.tableCount > 0 {
		c.Write(uleb(uint64(m.getterTypeIndex)))
	}
	return c.Bytes()
}

// globalSection adds, after the module's globals, the stack budget's counter and the
// stop flag, each (mut i32) starting at 0, and the time check's countdown (loopcheck.go).
func (m *module) globalSection() []byte {
	var c bytes.Buffer
	c.Write(uleb(uint64(m.definedGlobals + 3)))
	c.Write(m.globalEntries)
	c.Write([]byte{0x7f, 0x01, 0x41, 0x00, 0x0b}) // mut i32, i32.const 0, end
	c.Write([]byte{0x7f, 0x01, 0x41, 0x00, 0x0b})
	c.Write([]byte{0x7f, 0x01, 0x41})
	c.Write(sleb(checkEvery))
	c.WriteByte(0x0b)
	return c.Bytes()
}

// exportSection adds the counter global, the stop flag and the table-size function
// (when there are tables) to the module's exports.
func (m *module) exportSection(global, stop, getter uint32) []byte {
	var c bytes.Buffer
	n := m.exportCount + 2
	if m.tableCount > 0 {
		n++
	}
	c.Write(uleb(uint64(n)))
	c.Write(m.exportEntries)
	c.Write(encodeName(stackUsedExport))
	c.WriteByte(0x03) // global
	c.Write(uleb(uint64(global)))
	c.Write(encodeName(stopExport))
	c.WriteByte(0x03)
	c.Write(uleb(uint64(stop)))
	if m.tableCount > 0 {
		c.Write(encodeName(tableSizeExport))
		c.WriteByte(0x00) // function
		c.Write(uleb(uint64(getter)))
	}
	return c.Bytes()
}

// typeSection writes the type section, with () -> i32 added when the getter needs it.
func (m *module) typeSection() []byte {
	var c bytes.Buffer
	n := len(m.types)
	if m.addGetterType {
		n++
	}
	c.Write(uleb(uint64(n)))
	for _, t := range m.types {
		c.WriteByte(0x60)
		c.Write(uleb(uint64(len(t.params))))
		c.Write(t.params)
		c.Write(uleb(uint64(len(t.results))))
		c.Write(t.results)
	}
	if m.addGetterType {
		c.Write([]byte{0x60, 0x00, 0x01, 0x7f})
	}
	return c.Bytes()
}

// limitTables rewrites the table section in secs: each table's maximum becomes at most
// limit. It refuses a table whose minimum is above limit, and records the tables'
// initial sizes in out.
func (m *module) limitTables(secs []section, limit uint32, out *instrumented) error {
	for i := range secs {
		if secs[i].id != secTable {
			continue
		}
		r := &reader{b: secs[i].content}
		var c bytes.Buffer
		count := r.u32()
		c.Write(uleb(uint64(count)))
		var sum uint64
		for t := range count {
			ref := r.byte()
			flags := r.byte()
			if r.err != nil {
				break
			}
			if flags > 1 {
				return fmt.Errorf("table %d: limits flags %#x are not supported", t, flags)
			}
			initial := r.u32()
			most := uint32(math.MaxUint32)
			if flags == 1 {
				most = r.u32()
			}
			if initial > limit {
				return fmt.Errorf("table %d starts with %d elements, more than the table limit of %d", t, initial, limit)
			}
			sum += uint64(initial)
			c.WriteByte(ref)
			c.WriteByte(0x01)
			c.Write(uleb(uint64(initial)))
			c.Write(uleb(uint64(min(most, limit))))
		}
		if r.err != nil {
			return fmt.Errorf("table section: %w", r.err)
		}
		if len(r.rest()) != 0 {
			return errors.New("table section: table initializers are not supported")
		}
		if sum > math.MaxInt32 {
			return errors.New("tables: more elements in all than an i32 counts")
		}
		out.tables = uint32(sum)
		secs[i].content = c.Bytes()
	}
	return nil
}

// codeSection writes the wrappers, then the original bodies, then the table-size
// function when there are tables.
func (m *module) codeSection(global, stackLimit uint32, check []byte) []byte {
	n := uint32(len(m.bodies))
	var c bytes.Buffer
	count := 2 * n
	if m.tableCount > 0 {
		count++
	}
	c.Write(uleb(uint64(count)))
	arity, results := m.maxArity()
	for i, body := range m.bodies {
		t := m.types[m.funcTypes[i]]
		w := frameWeight(t, body, arity, results, m.importedGlobals+m.definedGlobals)
		if w > uint64(stackLimit) {
			w = uint64(stackLimit) + 1 // traps at once: this function alone exceeds the limit
		}
		var f bytes.Buffer
		f.WriteByte(0x00) // no locals
		// stack_used += w; if stack_used > limit: unreachable
		f.WriteByte(0x23) // global.get
		f.Write(uleb(uint64(global)))
		f.WriteByte(0x41) // i32.const
		f.Write(sleb(int64(int32(uint32(w)))))
		f.WriteByte(0x6a) // i32.add
		f.WriteByte(0x24) // global.set
		f.Write(uleb(uint64(global)))
		f.WriteByte(0x23)
		f.Write(uleb(uint64(global)))
		f.WriteByte(0x41)
		f.Write(sleb(int64(int32(stackLimit))))
		f.WriteByte(0x4b)              // i32.gt_u
		f.Write([]byte{0x04, 0x40})    // if (no result)
		f.WriteByte(0x00)              // unreachable
		f.WriteByte(0x0b)              // end
		f.Write(check)                 // the time limit, for calls without loops (recursion)
		for p := range len(t.params) { // the parameters, to the body
			f.WriteByte(0x20) // local.get
			f.Write(uleb(uint64(p)))
		}
		f.WriteByte(0x10) // call
		f.Write(uleb(uint64(m.importedFuncs + n + uint32(i))))
		// stack_used -= w, the results staying on the operand stack
		f.WriteByte(0x23)
		f.Write(uleb(uint64(global)))
		f.WriteByte(0x41)
		f.Write(sleb(int64(int32(uint32(w)))))
		f.WriteByte(0x6b) // i32.sub
		f.WriteByte(0x24)
		f.Write(uleb(uint64(global)))
		f.WriteByte(0x0b) // end
		c.Write(uleb(uint64(f.Len())))
		c.Write(f.Bytes())
	}
	for _, body := range m.bodies {
		c.Write(uleb(uint64(len(body))))
		c.Write(body)
	}
	if m.tableCount > 0 {
		var f bytes.Buffer
		f.WriteByte(0x00)
		for t := range m.tableCount {
			f.Write([]byte{0xfc, 0x10}) // table.size
			f.Write(uleb(uint64(t)))
			if t > 0 {
				f.WriteByte(0x6a) // i32.add
			}
		}
		f.WriteByte(0x0b)
		c.Write(uleb(uint64(f.Len())))
		c.Write(f.Bytes())
	}
	return c.Bytes()
}

// maxArity is the largest parameter plus result count of any type in the module (the
// most argument and result slots a call can take), and the largest result count (the
// most values one call or block can yield), at least 1.
func (m *module) maxArity() (arity, results uint64) {
	results = 1
	for _, t := range m.types {
		arity = max(arity, uint64(len(t.params)+len(t.results)))
		results = max(results, uint64(len(t.results)))
	}
	return arity, results
}

// frameWeight is an upper bound, in bytes, of the native stack that a call of a
// function with this type and body takes in wazevo, wrapper included: the fixed part
// of two frames; the parameters and results, passed on the stack in the worst case,
// twice (into the wrapper, then into the body); the locals, each a value that may be
// spilled; the values the body's instructions may define (valueBytesPerBodyByte per
// byte, times the most results one instruction may yield); the outgoing slots of the
// largest call the body may make; and the module's globals, which the body may hold
// in values too.
func frameWeight(t funcType, body []byte, arity, results uint64, globals uint32) uint64 {
	r := &reader{b: body}
	var locals uint64
	for range r.u32() {
		locals += uint64(r.u32())
		r.byte()
	}
	return frameFixed +
		2*slotSize*uint64(len(t.params)+len(t.results)) +
		slotSize*locals +
		valueBytesPerBodyByte*results*uint64(len(body)) +
		slotSize*arity +
		slotSize*uint64(globals)
}

// nameSection rewrites the name section: function names and local names move with the
// bodies to their new indices, and each wrapper takes its function's name. Other
// subsections that index functions (labels) are dropped; the rest is kept. A name
// section that does not parse is dropped (ok false), as wazero would ignore it.
func (m *module) nameSection(content []byte) ([]byte, bool) {
	r := &reader{b: content}
	r.name()
	n := uint32(len(m.bodies))
	var c bytes.Buffer
	c.Write(encodeName("name"))
	for r.more() {
		id := r.byte()
		sub := r.bytes(r.u32())
		if r.err != nil {
			return nil, false
		}
		sr := &reader{b: sub}
		var out bytes.Buffer
		switch id {
		case 1, 2: // function names; local names (a name map per function)
			type entry struct {
				idx  uint32
				data []byte
			}
			var moved, wrappers []entry
			var kept []entry
			for range sr.u32() {
				idx := sr.u32()
				start := sr.pos
				if id == 1 {
					sr.name()
				} else {
					for range sr.u32() {
						sr.u32()
						sr.name()
					}
				}
				if sr.err != nil {
					return nil, false
				}
				data := sub[start:sr.pos]
				if idx >= m.importedFuncs && idx < m.importedFuncs+n {
					moved = append(moved, entry{idx + n, data})
					if id == 1 {
						wrappers = append(wrappers, entry{idx, data})
					}
				} else {
					kept = append(kept, entry{idx, data})
				}
			}
			// A name map is sorted by index: imports, wrappers, bodies.
			all := append(append(kept, wrappers...), moved...)
			out.Write(uleb(uint64(len(all))))
			for _, e := range all {
				out.Write(uleb(uint64(e.idx)))
				out.Write(e.data)
			}
		case 3: // label names: by function index, dropped
			continue
		default:
			out.Write(sub)
		}
		c.WriteByte(id)
		c.Write(uleb(uint64(out.Len())))
		c.Write(out.Bytes())
	}
	return c.Bytes(), r.err == nil
}

// reader reads a binary module's encodings; the first error sticks.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) more() bool { return r.err == nil && r.pos < len(r.b) }

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at offset %d", what, r.pos)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	r.pos++
	return r.b[r.pos-1]
}

// u32 reads an unsigned LEB128 number of at most 32 bits.
func (r *reader) u32() uint32 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		b := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			if v > math.MaxUint32 {
				r.fail("number too large")
				return 0
			}
			return uint32(v)
		}
	}
	r.fail("number too long")
	return 0
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil || uint64(n) > uint64(len(r.b)-r.pos) {
		r.fail("unexpected end")
		return nil
	}
	r.pos += int(n)
	return r.b[r.pos-int(n) : r.pos]
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

func (r *reader) limits() {
	if flags := r.byte(); flags&1 != 0 {
		r.u32()
		r.u32()
	} else {
		r.u32()
	}
}

func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	rest := r.b[r.pos:]
	r.pos = len(r.b)
	return rest
}

// uleb encodes an unsigned LEB128 number.
func uleb(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// sleb encodes a signed LEB128 number.
func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// encodeName encodes a name: its length, then its bytes.
func encodeName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

// tablesGrew reports whether an instance's tables are larger than a fresh instance's
// (or cannot be measured): such an instance is not returned to the pool.
func (p *Plugin) tablesGrew(in *instance) bool {
	if !p.tables.hasTables {
		return false
	}
	if in.tableSize == nil {
		return true
	}
	var stack [1]uint64
	if err := in.tableSize.CallWithStack(context.Background(), stack[:]); err != nil {
		return true
	}
	return uint32(stack[0]) > p.tables.tables
}

// atStackLimit reports whether an instance trapped because its call exceeded the stack
// budget: the wrapper that refused leaves the budget in use above the limit.
func (p *Plugin) atStackLimit(in *instance) bool {
	if in == nil {
		return false
	}
	g := in.mod.ExportedGlobal(stackUsedExport)
	return g != nil && int64(uint32(g.Get())) > p.Limits.StackLimit
}
