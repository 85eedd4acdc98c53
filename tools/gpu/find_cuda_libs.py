"""Prints the folders holding the CUDA runtime, cuBLAS/cuBLASLt and cuDNN libraries on this machine,
colon-separated, for LD_LIBRARY_PATH (tools/gpu/run.sh). Looks in /usr/local/cuda and in the
nvidia-* pip packages that PyTorch depends on (e.g. nvidia/cudnn/lib, nvidia/cu13/lib), without
importing torch. A library found in several places is taken from the first: the CUDA toolkit,
then the pip packages."""
import glob
import importlib.util
import os
import sys

WANTED = ("libcudart.so", "libcublas.so", "libcublasLt.so", "libcudnn.so")


def candidate_dirs():
    yield from ("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib")
    spec = importlib.util.find_spec("nvidia")
    roots = list(spec.submodule_search_locations) if spec and spec.submodule_search_locations else []
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, "**", "lib*.so*"), recursive=True)):
            yield os.path.dirname(path)


def main():
    found = {}
    dirs = []
    for d in candidate_dirs():
        if not os.path.isdir(d):
            continue
        names = os.listdir(d)
        useful = False
        for want in WANTED:
            if want not in found and any(n.startswith(want) for n in names):
                found[want] = d
                useful = True
        if useful and d not in dirs:
            dirs.append(d)
    missing = [w for w in WANTED if w not in found]
    if missing:
        print(f"find_cuda_libs: not found: {', '.join(missing)}", file=sys.stderr)
    print(":".join(dirs))


if __name__ == "__main__":
    main()
