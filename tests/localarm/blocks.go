package localarm

import (
	"bytes"
	"fmt"
	"sort"
)

// BlockSize is the unit in which data is stored and CopyStart compares
// snapshots: 1 MiB, which is also the granularity of a fixed VHD's size.
const BlockSize = 1 << 20

// GiB is the unit of diskSizeGB.
const GiB = 1 << 30

// blocks is a disk's or snapshot's data: block index to BlockSize bytes;
// an absent block reads as zeros. Block slices are never written in place
// (write copies the block first), so clone can share them.
type blocks map[int64][]byte

var zeroBlock = make([]byte, BlockSize)

// clone returns a copy that shares the immutable block slices.
func (b blocks) clone() blocks {
	c := make(blocks, len(b))
	for i, blk := range b {
		c[i] = blk
	}
	return c
}

// write copies p to offset off, copying each block it touches.
func (b blocks) write(off int64, p []byte) {
	for len(p) > 0 {
		i, in := off/BlockSize, off%BlockSize
		blk := make([]byte, BlockSize)
		if old, ok := b[i]; ok {
			copy(blk, old)
		}
		n := copy(blk[in:], p)
		b[i] = blk
		p, off = p[n:], off+int64(n)
	}
}

// read returns n bytes from offset off.
func (b blocks) read(off int64, n int) []byte {
	out := make([]byte, n)
	for done := 0; done < n; {
		i, in := (off+int64(done))/BlockSize, (off+int64(done))%BlockSize
		blk, ok := b[i]
		if !ok {
			blk = zeroBlock
		}
		done += copy(out[done:], blk[in:])
	}
	return out
}

// block returns block i, zeros if absent.
func (b blocks) block(i int64) []byte {
	if blk, ok := b[i]; ok {
		return blk
	}
	return zeroBlock
}

// diff returns how many blocks differ between b and base (nil: all zeros).
func (b blocks) diff(base blocks) int64 {
	var n int64
	seen := map[int64]bool{}
	for i := range b {
		seen[i] = true
		if !bytes.Equal(b.block(i), base.block(i)) {
			n++
		}
	}
	for i := range base {
		if !seen[i] && !bytes.Equal(base.block(i), zeroBlock) {
			n++
		}
	}
	return n
}

// indexes returns the present block indexes in order.
func (b blocks) indexes() []int64 {
	idx := make([]int64, 0, len(b))
	for i := range b {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(x, y int) bool { return idx[x] < idx[y] })
	return idx
}

// PageBlob is the content of a page blob: Size bytes, zero except for
// Pages, which maps an offset (a multiple of 512) to the bytes stored there
// (a multiple of 512 long). Pages must not overlap.
type PageBlob struct {
	Size  int64
	Pages map[int64][]byte
}

// ReadAt returns n bytes of pb from offset off, zeros where no page is.
func (pb PageBlob) ReadAt(off int64, n int) []byte {
	out := make([]byte, n)
	for start, p := range pb.Pages {
		lo, hi := max(start, off), min(start+int64(len(p)), off+int64(n))
		if lo < hi {
			copy(out[lo-off:hi-off], p[lo-start:hi-start])
		}
	}
	return out
}

// offsets returns the page offsets in order.
func (pb PageBlob) offsets() []int64 {
	offs := make([]int64, 0, len(pb.Pages))
	for o := range pb.Pages {
		offs = append(offs, o)
	}
	sort.Slice(offs, func(x, y int) bool { return offs[x] < offs[y] })
	return offs
}

// vhdBlob is the fixed VHD of data (size bytes) as a page blob: one page
// per present block, then the footer.
func vhdBlob(data blocks, size int64, uniqueID string) PageBlob {
	pb := PageBlob{Size: size + vhdFooterSize, Pages: map[int64][]byte{}}
	for _, i := range data.indexes() {
		pb.Pages[i*BlockSize] = data[i]
	}
	pb.Pages[size] = vhdFooter(size, uniqueID)
	return pb
}

// fromVHD checks that pb is a fixed VHD and returns its data and size.
func fromVHD(pb PageBlob) (blocks, int64, error) {
	size := pb.Size - vhdFooterSize
	if size <= 0 || size%BlockSize != 0 {
		return nil, 0, fmt.Errorf("blob is %d bytes: a fixed VHD is a multiple of 1 MiB plus a 512-byte footer", pb.Size)
	}
	if err := checkVHDFooter(pb.ReadAt(size, vhdFooterSize), size); err != nil {
		return nil, 0, err
	}
	data := blocks{}
	for _, off := range pb.offsets() {
		p := pb.Pages[off]
		if end := off + int64(len(p)); end > size {
			p = p[:max(0, size-off)]
		}
		if !allZero(p) {
			data.write(off, p)
		}
	}
	return data, size, nil
}

func allZero(p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), BlockSize)
		if !bytes.Equal(p[:n], zeroBlock[:n]) {
			return false
		}
		p = p[n:]
	}
	return true
}
