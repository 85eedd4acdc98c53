// The training input pipeline's throughput: decode a 500x375 JPEG (ImageNet's typical size), resize
// to 256x256 (Pillow-exact antialiased bilinear), random-crop 224, random flip, normalise to float32
// CHW — per image on one thread, and through the DataLoader with 1 and 2 worker threads.
//
// Rates of the single-thread benchmarks are per CPU second (Google Benchmark's default), which is
// what to compare on a machine shared with other work; the loader's are per wall second.
//
// The JPEGs are synthetic photo-like images (wsol-synth's renderer) written once to
// $WSOL_BENCH_DATA_DIR (default /tmp/wsol_bench_data): bench/compare/data_pipeline.py times
// torchvision + PIL on the same files and prints the ratio.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "data/decode.h"
#include "data/loader.h"
#include "data/resize.h"
#include "data/sampling.h"
#include "data/synth.h"
#include "data/transforms.h"
#include "engine/file_util.h"

namespace {

using namespace wsol;
using namespace wsol::data;

constexpr int kFiles = 64;

std::string data_dir() {
    const char* env = std::getenv("WSOL_BENCH_DATA_DIR");
    return env && *env ? env : "/tmp/wsol_bench_data";
}

// kFiles JPEGs of 500x375 at quality 90, written once.
const std::vector<std::string>& bench_files() {
    static const std::vector<std::string> files = [] {
        const std::string dir = data_dir();
        std::filesystem::create_directories(dir);
        SynthOptions o;
        o.min_side = o.max_side = 500;
        std::vector<std::string> out;
        for (int i = 0; i < kFiles; ++i) {
            const std::string path = dir + "/img" + std::to_string(i) + ".jpg";
            if (!file_exists(path)) {
                const SynthImage s = render_synth_image(o, i % 10, uint64_t(i));
                Image img(500, 375);
                std::copy(s.image.pixels.begin(), s.image.pixels.begin() + std::ptrdiff_t(img.pixels.size()),
                          img.pixels.begin());
                write_file_atomic(path, encode_jpeg(img, 90));
            }
            out.push_back(path);
        }
        return out;
    }();
    return files;
}

void BM_Decode(benchmark::State& state) {
    std::vector<std::string> bytes;
    for (const std::string& f : bench_files()) bytes.push_back(read_file(f));
    size_t i = 0;
    for (auto _ : state) {
        DecodedImage img = decode_image(bytes[i++ % bytes.size()], "bench");
        benchmark::DoNotOptimize(img.image.pixels.data());
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_ResizeTo256(benchmark::State& state) {
    const Image src = load_image(bench_files()[0]).image;
    for (auto _ : state) {
        Image out = resize_bilinear(src, 256, 256);
        benchmark::DoNotOptimize(out.pixels.data());
    }
    state.SetItemsProcessed(state.iterations());
}

// Everything for one image on the calling thread: read, decode, resize+crop window, flip, normalise.
void BM_PipelineOneImage(benchmark::State& state) {
    const TransformSpec spec = TransformSpec::train();
    const Normalizer norm;
    std::vector<float> out(3 * 224 * 224);
    uint64_t i = 0;
    for (auto _ : state) {
        const std::string& f = bench_files()[i % kFiles];
        const Augmentation a = draw_augmentation(spec, sample_random(1, 0, i++, RandomStream::Augment));
        const std::vector<View> views = apply_transform(load_image(f), {}, spec, a);
        norm.write(views[0].image, views[0].flip, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}

// A 1024x768 JPEG through the same pipeline, with DCT-domain downscaling off (0) or on (1): the
// decoder then produces 512x384 directly (pixels differ from PIL's, see docs/data.md).
void BM_PipelineLarge(benchmark::State& state) {
    const std::string path = data_dir() + "/large_1024x768.jpg";
    if (!file_exists(path)) {
        SynthOptions o;
        o.min_side = o.max_side = 1024;
        const SynthImage s = render_synth_image(o, 3, 999);
        Image img(1024, 768);
        std::copy(s.image.pixels.begin(), s.image.pixels.begin() + std::ptrdiff_t(img.pixels.size()),
                  img.pixels.begin());
        write_file_atomic(path, encode_jpeg(img, 90));
    }
    TransformSpec spec = TransformSpec::train();
    spec.dct_downscale = state.range(0) != 0;
    DecodeOptions decode;
    decode.dct_downscale = spec.dct_downscale;
    decode.target_width = decode.target_height = 256;
    const Normalizer norm;
    std::vector<float> out(3 * 224 * 224);
    const std::string bytes = read_file(path);
    for (auto _ : state) {
        const std::vector<View> views =
            apply_transform(decode_image(bytes, path, decode), {}, spec, Augmentation{16, 16, true});
        norm.write(views[0].image, views[0].flip, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}

// The DataLoader with state.range(0) workers: batches of 32 float32 (32, 3, 224, 224) tensors.
void BM_Loader(benchmark::State& state) {
    auto ds = std::make_shared<Dataset>();
    ds->num_classes = 1;
    for (int k = 0; k < 4; ++k)
        for (const std::string& f : bench_files()) ds->records.push_back(Record{f, f, 0, 500, 375, {}, {}, {}});
    LoaderOptions o;
    o.batch_size = 32;
    o.shuffle = true;
    o.num_workers = int(state.range(0));
    o.prefetch_batches = 4;
    o.transform = TransformSpec::train();
    DataLoader loader(ds, o);
    int64_t images = 0, epoch = 0;
    for (auto _ : state) {
        loader.start_epoch(epoch++);
        while (auto b = loader.next()) images += b->size();
    }
    state.SetItemsProcessed(images);
}

BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ResizeTo256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PipelineOneImage)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PipelineLarge)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Loader)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
