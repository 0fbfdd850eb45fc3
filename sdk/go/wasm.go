//go:build wasip1

package fc

import (
	"errors"
	"unsafe"

	"github.com/futurecalls/futurecalls/abi"
)

// The fc host module (abi/README.md, Host functions).

//go:wasmimport fc log
func fcLog(level int32, ptr unsafe.Pointer, length uint32)

//go:wasmimport fc schedule
func fcSchedule(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport fc cancel
func fcCancel(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport fc last_error
func fcLastError(ptr unsafe.Pointer, capacity uint32) uint32

//go:wasmimport fc result
func fcResult(ptr unsafe.Pointer, capacity uint32) uint32

//go:wasmimport fc http
func fcHTTP(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport fc config
func fcConfig(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport fc state_get
func fcStateGet(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport fc state_put
func fcStatePut(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32) int64

//go:wasmimport fc state_delete
func fcStateDelete(ptr unsafe.Pointer, length uint32) int64

type platformHost struct{}

func (platformHost) log(level int32, msg string) {
	fcLog(level, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func (platformHost) schedule(request []byte) int64 {
	return fcSchedule(unsafe.Pointer(unsafe.SliceData(request)), uint32(len(request)))
}

func (platformHost) cancel(identifier string) int64 {
	return fcCancel(unsafe.Pointer(unsafe.StringData(identifier)), uint32(len(identifier)))
}

func (platformHost) lastError() string {
	buf := make([]byte, 256)
	n := fcLastError(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = min(n, fcLastError(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf))))
	}
	return string(buf[:n])
}

func (platformHost) http(request []byte) int64 {
	return fcHTTP(unsafe.Pointer(unsafe.SliceData(request)), uint32(len(request)))
}

func (platformHost) config(key string) int64 {
	return fcConfig(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)))
}

func (platformHost) stateGet(key string) int64 {
	return fcStateGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)))
}

func (platformHost) statePut(key string, value []byte) int64 {
	return fcStatePut(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(value)), uint32(len(value)))
}

func (platformHost) stateDelete(key string) int64 {
	return fcStateDelete(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)))
}

func (platformHost) result(n uint32) []byte {
	buf := make([]byte, n)
	if n > 0 {
		n = min(n, fcResult(unsafe.Pointer(unsafe.SliceData(buf)), n))
	}
	return buf[:n]
}

// The guest's exports (abi/README.md, At a glance). Go exports memory itself and runs
// package initialisation, including the plugin's Register calls, in _initialize.

// input is the buffer fc_alloc hands out; result keeps the last returned bytes alive
// until the next export is called.
var input, result []byte

// keepInput is the largest input buffer kept for reuse between calls.
const keepInput = 64 << 10

//go:wasmexport fc_alloc
func fcAlloc(size uint32) uint32 {
	if int(size) > cap(input) {
		input = make([]byte, size)
	}
	input = input[:size]
	return address(input)
}

//go:wasmexport fc_manifest
func fcManifest() uint64 {
	m, err := encodedManifest()
	if err != nil {
		panic(err.Error()) // fails the load, with the reason on stderr
	}
	result = m
	return abi.Pack(address(result), uint32(len(result)))
}

//go:wasmexport fc_invoke
func fcInvoke(ptr, length uint32) uint64 {
	var err error
	if ptr != address(input) || int(length) > len(input) {
		err = errNotAllocated
	} else {
		err = invoke(input[:length])
	}
	if cap(input) > keepInput {
		input = nil
	}
	if err == nil {
		result = nil
		return 0
	}
	result = []byte(err.Error())
	if len(result) == 0 {
		result = []byte("call failed")
	}
	return abi.Pack(address(result), uint32(len(result)))
}

// address is where b starts in linear memory (wasm32 pointers are 32 bits).
func address(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// errNotAllocated: fc_invoke was given a buffer fc_alloc did not hand out.
var errNotAllocated = errors.New("fc: the envelope is not in the buffer fc_alloc returned")
