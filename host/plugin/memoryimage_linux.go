package plugin

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newMemoryImage puts image in a memory file (memfd_create), sealed so that its content
// never changes. When the file cannot be made, instances copy the image instead.
func newMemoryImage(image []byte) *memoryImage {
	im := &memoryImage{bytes: image, file: -1}
	page := unix.Getpagesize()
	length := (len(image) + page - 1) / page * page
	fd, err := unix.MemfdCreate("futurecalls-memory-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return im
	}
	if err := fillSealed(fd, image, length); err != nil {
		_ = unix.Close(fd)
		return im
	}
	im.file, im.length = fd, length
	return im
}

func fillSealed(fd int, image []byte, length int) error {
	if err := unix.Ftruncate(fd, int64(length)); err != nil {
		return err
	}
	for off := 0; off < len(image); {
		n, err := unix.Pwrite(fd, image[off:], int64(off))
		if err != nil {
			return err
		}
		off += n
	}
	_, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	return err
}

// mapInto makes the start of dst, a memory's readable and writable pages at the start
// of its reservation, a private copy-on-write mapping of the image's file, or writes a
// copy of the image there when there is no file or dst is too short for its whole pages.
func (im *memoryImage) mapInto(dst []byte) error {
	im.mu.RLock()
	defer im.mu.RUnlock()
	if im.file < 0 || im.length > len(dst) {
		im.copyInto(dst)
		return nil
	}
	_, err := unix.MmapPtr(im.file, 0, unsafe.Pointer(unsafe.SliceData(dst)), uintptr(im.length),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	if err != nil {
		return fmt.Errorf("map the memory image: %w", err)
	}
	return nil
}

// close closes the image's file. Memories that map it keep their mappings; memories
// made afterwards get a copy.
func (im *memoryImage) close() {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.file >= 0 {
		_ = unix.Close(im.file)
		im.file = -1
	}
}
