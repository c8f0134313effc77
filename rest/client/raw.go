package client

import "context"

// Raw calls any path of the API (already escaped, topics with Topic): in
// and out are JSON as for the typed methods (out *string takes a text
// answer). It serves what the typed methods do not cover, such as an
// nwaku endpoint rlnd lacks.
func (c *Client) Raw(ctx context.Context, method, path string, in, out any) error {
	return c.do(ctx, method, path, nil, in, out)
}
