package plugin

import "bytes"

// maxDataGap is the largest run of zeros mergeData writes between two data segments to
// merge them.
const maxDataGap = 64

// mergeData rewrites a data section so that active segments of memory 0 that follow
// each other in memory, with at most maxDataGap bytes between them, become one segment
// (the gap filled with the zeros a fresh memory holds there anyway). The Go compiler
// splits its data at every run of zeros: about 42,000 segments for a small plugin, for
// each of which wazero keeps a slice and evaluates an offset in every instance, 1.2 MB
// of host memory per instance. Merged, a Go plugin has a dozen segments.
//
// Only a section of active segments with constant offsets is rewritten, and only in a
// module without a data count section: without one, no instruction can name a segment
// (memory.init and data.drop need it), so the segments' indices may change. Anything
// else, or a section that does not parse, is returned as it is.
func mergeData(content []byte, hasDataCount bool) []byte {
	if hasDataCount {
		return content
	}
	type segment struct {
		offset uint32
		data   []byte
	}
	var segs []segment
	r := &reader{b: content}
	for range r.u32() {
		if r.byte() != 0x00 || r.byte() != 0x41 { // active in memory 0; i32.const
			return content
		}
		offset := r.s32()
		if r.byte() != 0x0b || r.err != nil {
			return content
		}
		segs = append(segs, segment{uint32(offset), r.bytes(r.u32())})
	}
	if r.err != nil || r.more() {
		return content
	}
	var merged []segment
	for _, s := range segs {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			end := uint64(last.offset) + uint64(len(last.data))
			if uint64(s.offset) >= end && uint64(s.offset)-end <= maxDataGap {
				last.data = append(append(last.data, make([]byte, uint64(s.offset)-end)...), s.data...)
				continue
			}
		}
		merged = append(merged, segment{s.offset, append([]byte(nil), s.data...)})
	}
	var c bytes.Buffer
	c.Write(uleb(uint64(len(merged))))
	for _, s := range merged {
		c.Write([]byte{0x00, 0x41})
		c.Write(sleb(int64(int32(s.offset))))
		c.WriteByte(0x0b)
		c.Write(uleb(uint64(len(s.data))))
		c.Write(s.data)
	}
	return c.Bytes()
}

// s32 reads a signed LEB128 number of at most 32 bits.
func (r *reader) s32() int32 {
	var v int64
	shift := 0
	for ; shift < 35; shift += 7 {
		b := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(b&0x7f) << shift
		if b&0x80 == 0 {
			if shift+7 < 64 && b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return int32(v)
		}
	}
	r.fail("number too long")
	return 0
}
