package dockersave

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/canonical/docker-charmcraft/internal/membudget"
	"github.com/klauspost/compress/flate"
)

// DefaultBlockSize is the block size of Build's default compressor: big
// enough that the 5-byte sync flush between blocks and the restart of
// match finding cost nothing measurable, small enough that the blocks in
// flight stay a few MiB (with 1 MiB blocks a 300 MB push peaked at 54 MB
// of RSS, with 512 KiB at 39 MB).
const DefaultBlockSize = 512 << 10

// dictSize is deflate's window: how far back a block may refer.
const dictSize = 32 << 10

// ParallelGzip returns a gzip Compressor that deflates blocks of
// blockSize bytes on workers goroutines at once (0: GOMAXPROCS), as many
// as the compression's share of the memory budget holds
// (membudget.Compression: 3 with the default blocks, on any machine).
// Each block is deflated on its own, primed with the 32 KiB before it,
// and ends with a sync flush, so the blocks join into one valid deflate
// stream. The bytes depend only on the input, level, blockSize and the
// library version, never on workers or scheduling: the remote digest
// stays the same on any machine.
func ParallelGzip(level, blockSize, workers int) Compressor {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, workersWithin(membudget.Compression, blockSize))
	return parallelGzip{level: level, blockSize: blockSize, workers: workers}
}

// deflateState bounds what one worker's deflate writer holds, at any
// level (measured with klauspost/compress 1.18: 0.8 MiB at level 1,
// 1.2 at 3, 1.4 at 9).
const deflateState = 3 << 19

// workersWithin is how many workers the compressor may run with budget
// bytes of memory (one at least). Compress has workers+4 blocks in flight
// at most (see Compress), each holding its input, its deflate output and
// its dictionary.
func workersWithin(budget, blockSize int) int {
	block := 2*blockSize + blockSize/16 + 64 + dictSize
	return max(1, (budget-4*block)/(deflateState+block))
}

type parallelGzip struct{ level, blockSize, workers int }

func (p parallelGzip) ID() string {
	return fmt.Sprintf("pgzip-klauspost-%s-l%d-b%d", gzipFormat, p.level, p.blockSize)
}

// gzipHeader carries no name, no time, no extra flags, and OS "unknown".
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

func (p parallelGzip) Compress(dst io.Writer, src io.Reader) error {
	if p.level < flate.BestSpeed || p.level > flate.BestCompression {
		return fmt.Errorf("gzip level %d is not between %d and %d", p.level, flate.BestSpeed, flate.BestCompression)
	}
	if p.blockSize < dictSize {
		return fmt.Errorf("block size %d is smaller than deflate's window of %d", p.blockSize, dictSize)
	}
	if _, err := dst.Write(gzipHeader); err != nil {
		return err
	}
	// Blocks in flight: workers+1 queued (one for each worker, and the
	// next), besides the two the splitter holds and the one being written.
	ordered := make(chan *block, p.workers+1) // every block, in input order
	jobs := make(chan *block, p.workers+1)
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() { deflateBlocks(p.level, jobs) })
	}
	pool := &sync.Pool{New: func() any { return &block{in: make([]byte, p.blockSize)} }}
	sp := splitter{blockSize: p.blockSize, quit: make(chan struct{}), pool: pool}
	go sp.run(src, ordered, jobs)
	werr := writeBlocks(dst, ordered, pool)
	if werr != nil {
		close(sp.quit)
		for range ordered { // until the splitter is done
		}
	}
	wg.Wait()
	if err := errors.Join(sp.err, werr); err != nil { // ordered is closed: sp is settled
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], sp.crc)
	binary.LittleEndian.PutUint32(trailer[4:], uint32(sp.size)) //nolint:gosec // ISIZE is the size modulo 2^32 (RFC 1952)
	_, err := dst.Write(trailer[:])
	return err
}

// block is one piece of the input and, once done is closed, its deflate
// bytes.
type block struct {
	in, dict []byte
	last     bool
	out      bytes.Buffer
	err      error
	done     chan struct{}
}

func deflateBlocks(level int, jobs <-chan *block) {
	var w *flate.Writer
	for b := range jobs {
		if w == nil {
			w, b.err = flate.NewWriter(nil, level)
		}
		if b.err == nil {
			b.out.Grow(len(b.in) + len(b.in)/16 + 64)
			w.ResetDict(&b.out, b.dict)
			if _, b.err = w.Write(b.in); b.err == nil {
				if b.last {
					b.err = w.Close()
				} else {
					b.err = w.Flush()
				}
			}
		}
		close(b.done)
	}
}

// writeBlocks writes the blocks' output in order, and gives each block
// back to the pool once written: at most a few blocks are ever allocated.
func writeBlocks(dst io.Writer, ordered <-chan *block, pool *sync.Pool) error {
	for b := range ordered {
		<-b.done
		if b.err != nil {
			return b.err
		}
		if _, err := dst.Write(b.out.Bytes()); err != nil {
			return err
		}
		pool.Put(b)
	}
	return nil
}

// splitter cuts the input into blocks and hands each to the workers and,
// in order, to the writer. It reads one block ahead to know the last one.
type splitter struct {
	blockSize int
	quit      chan struct{}
	pool      *sync.Pool
	crc       uint32
	size      int64
	err       error
}

func (s *splitter) run(src io.Reader, ordered, jobs chan<- *block) {
	defer close(ordered)
	defer close(jobs)
	var prev *block
	for {
		next := s.pool.Get().(*block)
		n, err := io.ReadFull(src, next.in[:cap(next.in)])
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			s.err = err
			return
		}
		next.in = next.in[:n]
		next.out.Reset()
		next.dict, next.last, next.err, next.done = next.dict[:0], false, nil, make(chan struct{})
		s.crc = crc32.Update(s.crc, crc32.IEEETable, next.in)
		s.size += int64(n)
		if prev != nil {
			next.dict = append(next.dict[:0], prev.in[max(0, len(prev.in)-dictSize):]...)
			prev.last = eof && n == 0
			if !s.send(prev, ordered, jobs) || prev.last {
				return
			}
		}
		if eof {
			next.last = true
			s.send(next, ordered, jobs)
			return
		}
		prev = next
	}
}

func (s *splitter) send(b *block, ordered, jobs chan<- *block) bool {
	select {
	case ordered <- b:
	case <-s.quit:
		return false
	}
	select {
	case jobs <- b:
		return true
	case <-s.quit:
		close(b.done)
		return false
	}
}
