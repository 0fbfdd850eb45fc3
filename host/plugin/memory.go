package plugin

import (
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// linearMemory is a guest's linear memory, kept outside the Go heap (wazero's
// experimental.LinearMemory, given to wazero through experimental.WithMemoryAllocator
// when an instance is created).
//
// Why: by default wazero keeps a linear memory in a Go slice and grows it with append,
// so each memory.grow copies the memory into a larger slice while the old one waits for
// the garbage collector, whose pacing lets the heap reach about twice what is live. A
// guest growing its memory to a 64 MiB cap raised the host's resident memory by about
// 4 × the cap, and it went back to the operating system minutes later.
//
// Instead, the instance reserves address space for the largest memory it may ever have
// (its memory limit) with no access at all, and makes it readable and writable as the
// memory grows: nothing is copied, the address never moves, the garbage collector never
// sees it, and only pages the guest touches are backed. When the instance is discarded,
// the reservation is unmapped and the memory goes back to the operating system at once.
//
// The memory may be discarded (wazero calls Free) while a call still runs on its
// instance: when the registry closes a runtime under a running call, or when a time
// limit closes the instance from wazero's own goroutine. Unmapping then would make the
// guest's next access, or the host's, crash the process; so the instance marks the
// memory in use for as long as the host touches it (see use and done), and Free while
// it is in use only unmaps when the use ends.
type linearMemory struct {
	mu        sync.Mutex
	reserved  []byte       // the whole reservation; nil once unmapped
	committed int          // bytes from the start that are readable and writable
	inUse     bool         // the host or the guest may touch the memory now
	freed     bool         // Free was called while in use
	heap      []byte       // the fallback when nothing could be reserved: no growth at all
	err       error        // why nothing could be reserved
	image     *memoryImage // the initial content, mapped at the first allocation; may be nil
}

// reserveMemory reserves max bytes of address space for a linear memory, which starts
// in use (its instance is being created) and, when image is not nil, with the image's
// content. When the reservation fails, the memory can hold the instance's initial memory
// but never grows, and err says why: the instance must then be discarded.
func reserveMemory(max uint64, image *memoryImage) *linearMemory {
	m := &linearMemory{inUse: true, image: image}
	if max == 0 {
		return m
	}
	b, err := unix.Mmap(-1, 0, int(max), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		m.err = fmt.Errorf("reserve %d bytes of address space for the linear memory: %w", max, err)
		return m
	}
	m.reserved = b
	return m
}

// Reallocate implements experimental.LinearMemory: wazero calls it with the memory's
// initial size, then on every memory.grow, always from the goroutine running the guest.
// nil makes memory.grow fail (it returns -1 to the guest).
func (m *linearMemory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil { // initial size only: this instance will be discarded
		if m.heap == nil {
			m.heap = make([]byte, size)
			return m.heap
		}
		return nil
	}
	if size > uint64(len(m.reserved)) {
		return nil
	}
	if n := int(size); n > m.committed {
		if err := unix.Mprotect(m.reserved[m.committed:n], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil // out of memory: memory.grow fails as it would at the cap
		}
		if m.committed == 0 && m.image != nil {
			if m.err = m.image.mapInto(m.reserved[:n]); m.err != nil {
				m.heap = make([]byte, size) // wazero requires the initial size; the instance is discarded
				return m.heap
			}
		}
		m.committed = n
	}
	return m.reserved[:size:size]
}

// Free implements experimental.LinearMemory: wazero calls it when the instance is
// closed. The memory is unmapped now, or when its use ends.
func (m *linearMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inUse {
		m.freed = true
		return
	}
	m.unmap()
}

// use marks the memory in use before the host runs a call on its instance. It returns
// false when the memory is gone (the instance was closed meanwhile): the instance must
// not be used.
func (m *linearMemory) use() bool {
	if m == nil { // in the Go heap (options.goHeap): the garbage collector keeps it
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return false
	}
	m.inUse = true
	return true
}

// done ends a use, unmapping the memory if it was freed meanwhile.
func (m *linearMemory) done() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inUse = false
	if m.freed {
		m.unmap()
	}
}

func (m *linearMemory) unmap() {
	m.freed = true
	if m.reserved != nil {
		_ = unix.Munmap(m.reserved) // fails only for a bad range, which this is not
		m.reserved = nil
	}
}

// compile-time check that linearMemory is what wazero expects.
var _ experimental.LinearMemory = (*linearMemory)(nil)
