package charmhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Upload streams size bytes, read from what open returns, to storage as
// a file named after the base name of filename, and returns the upload
// id to give CreateRevision. The content is never held in memory: it is
// read as it is sent, and open is called again to send it afresh after a
// temporary failure. progress, when not nil, is told how many bytes of
// the content were sent so far; it is called from another goroutine, and
// starts again from zero if the upload is retried.
func (c *Client) Upload(ctx context.Context, filename string, size int64, open func() (io.ReadCloser, error), progress func(sent int64)) (string, error) {
	name := filepath.Base(filename)
	id, err := c.upload(ctx, name, size, open, progress)
	if err != nil {
		return "", fmt.Errorf("uploading %q to Charmhub storage: %w", name, err)
	}
	return id, nil
}

func (c *Client) upload(ctx context.Context, name string, size int64, open func() (io.ReadCloser, error), progress func(int64)) (string, error) {
	if size < 0 || open == nil {
		return "", errors.New("the content size is negative or the content cannot be opened")
	}
	body := newMultipartBody(name, size, open, progress)
	defer body.stop()
	length, err := body.length()
	if err != nil {
		return "", err
	}
	req, err := c.newRequest(transport.WithReplay(ctx), http.MethodPost, c.storageURL+"/unscanned-upload/", nil)
	if err != nil {
		return "", err
	}
	if req.Body, err = body.reader(); err != nil {
		return "", err
	}
	req.GetBody = body.reader
	req.ContentLength = length
	req.Header.Set("Content-Type", body.contentType())
	var answer struct {
		Successful bool   `json:"successful"`
		UploadID   string `json:"upload_id"`
	}
	err = c.do(req, &answer)
	body.stop()
	if err != nil {
		return "", err
	}
	if !answer.Successful || answer.UploadID == "" {
		return "", ErrUploadFailed
	}
	sent := body.content()
	if sent == nil {
		// Storage answered before it had all of the content.
		return "", errors.New("storage accepted the upload before receiving all of it")
	}
	c.remember(answer.UploadID, *sent)
	return answer.UploadID, nil
}
