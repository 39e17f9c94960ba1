#!/usr/bin/python3
"""Convert a PyTorch state dict (.pth / .pt) into a safetensors file that
alexscope reads. Needs PyTorch (Debian: python3-torch); writes F32 tensors.

usage: pth2safetensors.py IN.pth OUT.safetensors
"""
import json
import struct
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    import torch

    state = torch.load(argv[1], map_location="cpu")
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        sys.stderr.write("%s: not a state dict (found %s)\n" % (argv[1], type(state).__name__))
        return 1
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if not hasattr(tensor, "detach"):
            continue
        data = tensor.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(argv[2], "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    print("%s: %d tensors, %.1f MB" % (argv[2], len(header), offset / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
