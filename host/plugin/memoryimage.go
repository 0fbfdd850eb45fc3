package plugin

import "sync"

// memoryImage is a plugin's initial memory content (dataImage), kept once for all its
// instances. On Linux it lives in a sealed memory file that each instance's memory maps
// copy-on-write (memoryimage_linux.go): the pages a guest only reads are resident once
// for the plugin, not once per instance. Elsewhere each instance gets a copy.
type memoryImage struct {
	bytes []byte

	mu     sync.RWMutex // guards file against close while an instance maps it
	file   int          // the memory file's descriptor; -1 without one, or once closed
	length int          // the file's length: bytes rounded up to whole pages
}

// copyInto writes the image at the start of dst, a memory of at least len(bytes)
// bytes.
func (im *memoryImage) copyInto(dst []byte) {
	copy(dst, im.bytes)
}
