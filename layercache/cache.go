// Package layercache is a dockersave.Cache kept on disk, so that an image
// pushed once is not compressed again: it remembers which compressed blob
// each layer became, which layer a fingerprint names, and the size of each
// image's config. Each entry is a small file written atomically (a
// temporary file renamed into place), so concurrent runs never see half an
// entry, and an entry that does not parse is a miss.
//
// An entry names what it maps (a layer entry holds the diff ID it is
// for, an image entry the image ID) and is used only under that name: two
// entries exchanged, or one copied under another name, are dropped when
// read. Entries are trusted only as far as their writer is: the cache is
// refused when its directory belongs to another user or others may write
// it, and an entry another user owns, or others may write, is a miss
// (the checks ssh makes of its keys).
//
// It also keeps the upload sessions in flight (see registry.Sessions): a
// run killed midway leaves the session of the blob it was sending, which
// the next run resumes. A session entry names a location in the registry
// and how much of the blob it acknowledged; the registry is asked where
// it stands before it is used, and checks the blob's digest at its end.
package layercache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// Cache is a directory of entries. Its methods are safe for concurrent use
// by goroutines and processes.
type Cache struct {
	dir string
	// Err, when set, is told of entries that could not be written, and
	// of entries dropped or ignored because they were not what they
	// claimed or not safe to trust.
	Err func(error)
}

// ErrUnsafeDir is the error of Open for a directory that another user
// owns, or that others may write.
var ErrUnsafeDir = errors.New("not safe to trust")

// DefaultDir is where the cache lives unless told otherwise: the user's
// cache directory (os.UserCacheDir), under docker-charmcraft.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "docker-charmcraft"), nil
}

// Open returns the cache in dir, creating the directory if needed. It
// fails with ErrUnsafeDir when dir belongs to another user, or others may
// write it: who can write the cache chooses what is pushed.
func Open(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if err := trusted(fi); err != nil {
		return nil, fmt.Errorf("the layer cache directory %s is %w: %w", dir, ErrUnsafeDir, err)
	}
	return &Cache{dir: dir}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// layerEntry is the blob a layer compresses to. DiffID is the layer's,
// the entry's name: an entry found under another name is not used.
type layerEntry struct {
	DiffID digest.Digest `json:"diffID"`
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
}

// imageEntry is what is known of an image, named by its ID.
type imageEntry struct {
	ImageID    digest.Digest `json:"imageID"`
	ConfigSize int64         `json:"configSize"`
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Get implements dockersave.Cache.
func (c *Cache) Get(diffID digest.Digest, compressorID string) (dockersave.Descriptor, bool) {
	var e layerEntry
	path := c.layerPath(diffID, compressorID)
	if diffID.Validate() != nil || !c.read(path, &e) || e.Digest.Validate() != nil || e.Size <= 0 {
		return dockersave.Descriptor{}, false
	}
	if e.DiffID != diffID {
		c.drop(path, misnamed("layer", e.DiffID, diffID))
		return dockersave.Descriptor{}, false
	}
	return dockersave.Descriptor{MediaType: mediatype.DockerLayer, Digest: e.Digest, Size: e.Size}, true
}

// Put implements dockersave.Cache.
func (c *Cache) Put(diffID digest.Digest, compressorID string, d dockersave.Descriptor) {
	if diffID.Validate() == nil {
		c.write(c.layerPath(diffID, compressorID), layerEntry{DiffID: diffID, Digest: d.Digest, Size: d.Size})
	}
}

// DiffID implements dockersave.Cache.
func (c *Cache) DiffID(fingerprint string) (digest.Digest, bool) {
	var d digest.Digest
	if !fingerprintRE.MatchString(fingerprint) || !c.read(filepath.Join(c.dir, "fingerprints", fingerprint), &d) || d.Validate() != nil {
		return "", false
	}
	return d, true
}

// PutDiffID implements dockersave.Cache.
func (c *Cache) PutDiffID(fingerprint string, diffID digest.Digest) {
	if fingerprintRE.MatchString(fingerprint) && diffID.Validate() == nil {
		c.write(filepath.Join(c.dir, "fingerprints", fingerprint), diffID)
	}
}

// ForgetFingerprints removes every fingerprint, after one named the wrong
// layer (dockersave.ErrStaleCache).
func (c *Cache) ForgetFingerprints() error {
	return os.RemoveAll(filepath.Join(c.dir, "fingerprints"))
}

// ConfigSize returns the size of the config of the image, if recorded.
func (c *Cache) ConfigSize(imageID digest.Digest) (int64, bool) {
	var e imageEntry
	path := filepath.Join(c.dir, "images", imageID.Encoded())
	if imageID.Validate() != nil || !c.read(path, &e) || e.ConfigSize <= 0 {
		return 0, false
	}
	if e.ImageID != imageID {
		c.drop(path, misnamed("image", e.ImageID, imageID))
		return 0, false
	}
	return e.ConfigSize, true
}

// PutConfigSize records the size of the config of the image.
func (c *Cache) PutConfigSize(imageID digest.Digest, size int64) {
	if imageID.Validate() == nil {
		c.write(filepath.Join(c.dir, "images", imageID.Encoded()), imageEntry{ImageID: imageID, ConfigSize: size})
	}
}

// layerPath keys a layer by its diff ID under a directory per compressor
// (hashed: a compressor ID is free text).
func (c *Cache) layerPath(diffID digest.Digest, compressorID string) string {
	sum := sha256.Sum256([]byte(compressorID))
	return filepath.Join(c.dir, "layers", hex.EncodeToString(sum[:8]), diffID.Encoded())
}

// maxEntry bounds what is read of one entry: they are a few dozen bytes.
const maxEntry = 4 << 10

// read reads the entry in path into v: false if there is none, or it is
// not safe to trust, or does not parse.
func (c *Cache) read(path string, v any) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if err := trusted(fi); err != nil {
		c.report(fmt.Errorf("ignoring the cache entry %s: %w; remove it", path, err))
		return false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxEntry+1))
	return err == nil && len(b) <= maxEntry && json.Unmarshal(b, v) == nil
}

// misnamed says why an entry read as that of want, a layer or an image,
// is not used: it names another, or none (written by an older plugin).
func misnamed(what string, got, want digest.Digest) string {
	if got == "" {
		return fmt.Sprintf("it does not name its %s (an older plugin wrote it)", what)
	}
	return fmt.Sprintf("it is the entry of %s %.80s, not of %s %s", what, got, what, want)
}

// drop removes the entry in path, which is not what its name says.
func (c *Cache) drop(path, why string) {
	err := os.Remove(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.report(fmt.Errorf("ignoring the cache entry %s, as %s; removing it: %w", path, why, err))
		return
	}
	c.report(fmt.Errorf("dropped the cache entry %s: %s", path, why))
}

func (c *Cache) write(path string, v any) {
	if err := c.writeFile(path, v); err != nil {
		c.report(err)
	}
}

func (c *Cache) report(err error) {
	if c.Err != nil {
		c.Err(err)
	}
}

func (c *Cache) writeFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// uploadEntry is an upload session in flight, saved under its key.
type uploadEntry struct {
	Key      string `json:"key"`
	Location string `json:"location"`
	Offset   int64  `json:"offset"`
}

var uploadKeyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// UploadSession implements registry.Sessions.
func (c *Cache) UploadSession(key string) (string, int64, bool) {
	var e uploadEntry
	if !uploadKeyRE.MatchString(key) {
		return "", 0, false
	}
	path := filepath.Join(c.dir, "uploads", key)
	if !c.read(path, &e) || e.Location == "" || e.Offset < 0 {
		return "", 0, false
	}
	if e.Key != key {
		c.drop(path, fmt.Sprintf("it is the entry of upload %.80q, not of upload %s", e.Key, key))
		return "", 0, false
	}
	return e.Location, e.Offset, true
}

// SaveUploadSession implements registry.Sessions.
func (c *Cache) SaveUploadSession(key, location string, offset int64) {
	if uploadKeyRE.MatchString(key) {
		c.write(filepath.Join(c.dir, "uploads", key), uploadEntry{Key: key, Location: location, Offset: offset})
	}
}

// ForgetUploadSession implements registry.Sessions.
func (c *Cache) ForgetUploadSession(key string) {
	if !uploadKeyRE.MatchString(key) {
		return
	}
	if err := os.Remove(filepath.Join(c.dir, "uploads", key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.report(err)
	}
}

var _ dockersave.Cache = (*Cache)(nil)
