package plugin

import "testing"

// TestLinearMemory: the memory grows in place up to its reservation, refuses beyond it,
// and is unmapped by Free at once when idle, or when its use ends.
func TestLinearMemory(t *testing.T) {
	m := reserveMemory(4*pageSize, nil)
	if m.err != nil {
		t.Fatal(m.err)
	}
	b := m.Reallocate(pageSize)
	b[pageSize-1] = 1
	grown := m.Reallocate(3 * pageSize)
	if len(grown) != 3*pageSize || &grown[0] != &b[0] || grown[pageSize-1] != 1 {
		t.Fatalf("grown to %d bytes at %p, want 3 pages in place keeping their bytes (was %p)", len(grown), &grown[0], &b[0])
	}
	grown[3*pageSize-1] = 2 // writable to the end
	if m.Reallocate(5*pageSize) != nil {
		t.Error("grown beyond the reservation")
	}
	m.Free() // in use since creation: unmapped only when the use ends
	if m.reserved == nil {
		t.Fatal("unmapped while in use")
	}
	m.done()
	if m.reserved != nil || m.use() {
		t.Error("still mapped, or usable, after Free and the end of its use")
	}

	idle := reserveMemory(pageSize, nil)
	idle.done()
	idle.Free()
	if idle.reserved != nil {
		t.Error("an idle memory is not unmapped by Free")
	}
}

// TestLinearMemoryUnreservable: when the address space cannot be reserved, the memory
// still gives the initial size (wazero requires it) and says why it cannot be used.
func TestLinearMemoryUnreservable(t *testing.T) {
	m := reserveMemory(1<<60, nil) // more than any address space
	if m.err == nil {
		t.Fatal("reserved 2^60 bytes")
	}
	if b := m.Reallocate(pageSize); len(b) != pageSize {
		t.Fatalf("initial size: %d bytes, want %d", len(b), pageSize)
	}
	if m.Reallocate(2*pageSize) != nil {
		t.Error("an unreserved memory grew")
	}
	m.done()
	m.Free()
}
