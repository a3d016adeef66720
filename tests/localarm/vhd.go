package localarm

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// vhdFooterSize is the size of a VHD footer, the last 512 bytes of a fixed
// VHD (Virtual Hard Disk Image Format Specification, version 1.0).
const vhdFooterSize = 512

// vhdDiskTypeFixed is the footer's disk type of a fixed VHD.
const vhdDiskTypeFixed = 2

// vhdFooter returns the footer of a fixed VHD of size data bytes, with the
// unique ID taken from uniqueID (a GUID) and the time stamp at zero
// (2000-01-01), so the same disk always gives the same footer.
func vhdFooter(size int64, uniqueID string) []byte {
	f := make([]byte, vhdFooterSize)
	copy(f[0:8], "conectix")
	binary.BigEndian.PutUint32(f[8:12], 2)           // features: reserved bit
	binary.BigEndian.PutUint32(f[12:16], 0x00010000) // file format version 1.0
	binary.BigEndian.PutUint64(f[16:24], ^uint64(0)) // data offset: none (fixed)
	copy(f[28:32], "larm")                           // creator application
	binary.BigEndian.PutUint32(f[32:36], 0x00010000) // creator version
	copy(f[36:40], "Wi2k")                           // creator host OS
	binary.BigEndian.PutUint64(f[40:48], uint64(size))
	binary.BigEndian.PutUint64(f[48:56], uint64(size))
	c, h, s := chs(size)
	binary.BigEndian.PutUint16(f[56:58], c)
	f[58], f[59] = h, s
	binary.BigEndian.PutUint32(f[60:64], vhdDiskTypeFixed)
	if id, err := hex.DecodeString(strings.ReplaceAll(uniqueID, "-", "")); err == nil && len(id) == 16 {
		copy(f[68:84], id)
	}
	binary.BigEndian.PutUint32(f[64:68], vhdChecksum(f))
	return f
}

// checkVHDFooter checks that f is a valid fixed-VHD footer for size bytes
// of data.
func checkVHDFooter(f []byte, size int64) error {
	switch {
	case string(f[0:8]) != "conectix":
		return errors.New("no VHD footer (cookie \"conectix\") in the last 512 bytes")
	case binary.BigEndian.Uint32(f[64:68]) != vhdChecksum(f):
		return errors.New("VHD footer checksum mismatch")
	case binary.BigEndian.Uint32(f[60:64]) != vhdDiskTypeFixed:
		return fmt.Errorf("VHD disk type is %d: only fixed VHDs (2) can be imported", binary.BigEndian.Uint32(f[60:64]))
	case binary.BigEndian.Uint64(f[48:56]) != uint64(size):
		return fmt.Errorf("VHD footer says %d bytes but the blob holds %d", binary.BigEndian.Uint64(f[48:56]), size)
	}
	return nil
}

// vhdChecksum is the ones' complement of the sum of the footer's bytes,
// not counting the checksum field.
func vhdChecksum(f []byte) uint32 {
	var sum uint32
	for i, b := range f {
		if i < 64 || i >= 68 {
			sum += uint32(b)
		}
	}
	return ^sum
}

// chs is the VHD specification's CHS geometry for size bytes.
func chs(size int64) (cylinders uint16, heads, sectors uint8) {
	total := size / 512
	if total > 65535*16*255 {
		total = 65535 * 16 * 255
	}
	var spt, hd, cth int64
	if total >= 65535*16*63 {
		spt, hd = 255, 16
		cth = total / spt
	} else {
		spt = 17
		cth = total / spt
		hd = (cth + 1023) / 1024
		if hd < 4 {
			hd = 4
		}
		if cth >= hd*1024 || hd > 16 {
			spt, hd = 31, 16
			cth = total / spt
		}
		if cth >= hd*1024 {
			spt, hd = 63, 16
			cth = total / spt
		}
	}
	return uint16(cth / hd), uint8(hd), uint8(spt)
}
