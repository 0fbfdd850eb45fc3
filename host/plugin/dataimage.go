package plugin

// dataImage takes a module's active data segments out of it, into the image of the
// memory they initialise: the bytes from address 0 to the end of the last segment, each
// segment written where it belongs, in order. It returns the image and the sections
// without the data section, or (nil, secs) when the segments must stay.
//
// Why: every instance of a Go plugin starts with about 1.7 MB of data (the runtime's
// tables, type descriptors, strings; WebAssembly has no read-only segment), which wazero
// copies into each instance's memory, so each instance holds its own copy although most
// of it is never written. Given the image instead, the memory allocator maps it
// copy-on-write (memoryImage): pages the guest only reads stay shared by every instance
// of the plugin, and a page it writes gets a private copy, as the guest expects.
//
// The segments are taken out only when nothing but instantiation can see them, so that
// the image is all that differs: a module with a data count section (memory.init and
// data.drop name segments, and passive ones exist only with it) or a start function
// (it runs before the host could write an image into a memory it does not map) keeps
// them, as does one whose segments do not all fit in its initial memory (instantiation
// must then fail, and does, as wazero reports it) or do not parse.
func dataImage(secs []section) ([]byte, []section) {
	var data, memory *section
	for i := range secs {
		switch secs[i].id {
		case secDataCount, secStart:
			return nil, secs
		case secData:
			data = &secs[i]
		case secMemory:
			memory = &secs[i]
		}
	}
	if data == nil || memory == nil {
		return nil, secs
	}
	r := &reader{b: memory.content}
	if r.u32() != 1 {
		return nil, secs
	}
	if flags := r.byte(); flags > 1 { // shared or 64-bit memories are left alone
		return nil, secs
	}
	initial := uint64(r.u32()) * pageSize
	if r.err != nil {
		return nil, secs
	}

	type segment struct {
		offset uint64
		bytes  []byte
	}
	var segs []segment
	var end uint64
	r = &reader{b: data.content}
	for range r.u32() {
		if r.byte() != 0x00 || r.byte() != 0x41 { // active in memory 0; i32.const
			return nil, secs
		}
		offset := uint64(uint32(r.s32()))
		if r.byte() != 0x0b || r.err != nil {
			return nil, secs
		}
		s := segment{offset, r.bytes(r.u32())}
		if r.err != nil || s.offset+uint64(len(s.bytes)) > initial {
			return nil, secs
		}
		segs = append(segs, s)
		end = max(end, s.offset+uint64(len(s.bytes)))
	}
	if r.err != nil || r.more() || end == 0 {
		return nil, secs
	}
	image := make([]byte, end)
	for _, s := range segs {
		copy(image[s.offset:], s.bytes)
	}
	kept := make([]section, 0, len(secs)-1)
	for i := range secs {
		if &secs[i] != data {
			kept = append(kept, secs[i])
		}
	}
	return image, kept
}
