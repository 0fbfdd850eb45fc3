package plugin

import (
	"bytes"
	"testing"
)

// memorySection declares one memory of initial pages.
func memorySection(initial uint32) section {
	return section{id: secMemory, content: append([]byte{1, 0x00}, uleb(uint64(initial))...)}
}

// TestDataImage: the active segments become the image of the memory they initialise,
// later segments over earlier ones, and the data section goes; anything the image
// cannot stand for keeps the segments.
func TestDataImage(t *testing.T) {
	t.Parallel()
	data := section{id: secData, content: dataSection([]int32{4, 0, 8}, [][]byte{{1, 2, 3}, {9, 9, 9, 9, 9}, {7}})}
	code := section{id: secCode}
	image, kept := dataImage([]section{memorySection(1), code, data})
	if want := []byte{9, 9, 9, 9, 9, 2, 3, 0, 7}; !bytes.Equal(image, want) {
		t.Errorf("image %v, want %v", image, want)
	}
	if len(kept) != 2 || kept[0].id != secMemory || kept[1].id != secCode {
		t.Errorf("sections kept: %v, want the memory and code sections", kept)
	}

	beyond := section{id: secData, content: dataSection([]int32{pageSize - 2}, [][]byte{{1, 2, 3}})}
	for name, secs := range map[string][]section{
		"beyond the initial memory": {memorySection(1), beyond},
		"with a data count section": {memorySection(1), {id: secDataCount, content: []byte{3}}, data},
		"with a start function":     {memorySection(1), {id: secStart, content: []byte{0}}, data},
		"without a memory section":  {data},
		"with a passive segment":    {memorySection(1), {id: secData, content: []byte{1, 0x01, 1, 5}}},
	} {
		if image, kept := dataImage(secs); image != nil || len(kept) != len(secs) {
			t.Errorf("%s: an image of %d bytes, %d sections of %d kept", name, len(image), len(kept), len(secs))
		}
	}
}

// TestLinearMemoryImage: every memory starts with the image's content, whatever other
// memories made of theirs, keeps it as it grows, and still gets it (copied) once the
// image's file is closed.
func TestLinearMemoryImage(t *testing.T) {
	image := bytes.Repeat([]byte("futurecalls "), pageSize/4) // 3 pages
	im := newMemoryImage(image)
	fresh := func() *linearMemory {
		m := reserveMemory(8*pageSize, im)
		if m.err != nil {
			t.Fatal(m.err)
		}
		return m
	}
	first, second := fresh(), fresh()
	a := first.Reallocate(4 * pageSize)
	a[0], a[3*pageSize-1], a[4*pageSize-1] = 'X', 'Y', 'Z'
	b := second.Reallocate(4 * pageSize)
	if !bytes.Equal(b[:len(image)], image) || b[len(image)] != 0 || b[4*pageSize-1] != 0 {
		t.Error("a memory sees what another wrote into its image")
	}
	a = first.Reallocate(6 * pageSize)
	if a[0] != 'X' || a[3*pageSize-1] != 'Y' || a[4*pageSize-1] != 'Z' || !bytes.Equal(a[1:len(image)-1], image[1:len(image)-1]) {
		t.Error("growing lost the memory's content")
	}
	im.close()
	third := fresh()
	if c := third.Reallocate(4 * pageSize); !bytes.Equal(c[:len(image)], image) {
		t.Error("a memory made after the image's file was closed does not start with the image")
	}
	for _, m := range []*linearMemory{first, second, third} {
		m.done()
		m.Free()
	}
}
