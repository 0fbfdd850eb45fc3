package plugin

import (
	"bytes"
	"testing"
)

// dataSection encodes active segments of memory 0 at the given offsets.
func dataSection(offsets []int32, data [][]byte) []byte {
	var c bytes.Buffer
	c.Write(uleb(uint64(len(offsets))))
	for i, off := range offsets {
		c.Write([]byte{0x00, 0x41})
		c.Write(sleb(int64(off)))
		c.WriteByte(0x0b)
		c.Write(uleb(uint64(len(data[i]))))
		c.Write(data[i])
	}
	return c.Bytes()
}

func TestMergeData(t *testing.T) {
	t.Parallel()
	section := dataSection([]int32{16, 20, 22 + maxDataGap, 200, 100}, [][]byte{{1, 2}, {3, 4}, {5}, {6}, {7}})
	want := dataSection([]int32{16, 200, 100}, [][]byte{append(append([]byte{1, 2, 0, 0, 3, 4}, make([]byte, maxDataGap)...), 5), {6}, {7}})
	if got := mergeData(section, false); !bytes.Equal(got, want) {
		t.Errorf("mergeData:\n got %x\nwant %x", got, want)
	}
	if got := mergeData(section, true); !bytes.Equal(got, section) {
		t.Errorf("with a data count section: rewritten to %x", got)
	}
	passive := append(append([]byte{0x06}, section[1:]...), 0x01, 0x01, 0x09) // a sixth segment, passive
	if got := mergeData(passive, false); !bytes.Equal(got, passive) {
		t.Errorf("with a passive segment: rewritten to %x", got)
	}
}
