//go:build !linux

package plugin

// newMemoryImage keeps image for instances to copy: without Linux's memory files, every
// instance has its own copy, as when wazero writes the data segments.
func newMemoryImage(image []byte) *memoryImage {
	return &memoryImage{bytes: image, file: -1}
}

// mapInto writes a copy of the image at the start of dst.
func (im *memoryImage) mapInto(dst []byte) error {
	im.copyInto(dst)
	return nil
}

// close has nothing to release.
func (im *memoryImage) close() {}
