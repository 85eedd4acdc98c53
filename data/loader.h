// The threaded data loader: worker threads decode and augment images into a bounded queue of
// batches that the training loop takes in order.
//
// Reproducibility. The order of an epoch (shuffle), the shard of a rank, and each sample's crop,
// flip and auxiliary partner are pure functions of (seed, epoch, dataset index), drawn from Philox
// (sampling.h). Which thread decodes what, and when, changes nothing: a batch is bit-identical for
// 0, 1 or 16 workers. start_epoch(epoch, first_batch) therefore resumes a run exactly where a
// checkpoint left it: batch k of epoch e is the same whether or not batches 0..k-1 were produced.
//
// The epoch plan, like PyTorch's DistributedSampler + DataLoader:
//   order   = shuffle ? epoch_permutation(N, seed, epoch) : 0..N-1
//   sharded = order padded cyclically to a multiple of world_size, then every world_size-th entry
//             from `rank` (all ranks share the seed, so they agree on the order)
//   batches = consecutive chunks of batch_size; drop_last drops a final short chunk.
//
// Bad input. A missing, empty, truncated or undecodable image (or one whose size contradicts the
// list file) is an error that reaches the consumer: next() throws it, naming the file, when the
// consumer arrives at that batch — the batches before it are delivered normally, whatever the
// timing. With skip_bad_images the sample is dropped from its batch instead (the batch gets
// shorter; a batch left empty is skipped) and listed in skipped(). Destroying the loader, or calling
// start_epoch again, stops and joins the workers: nothing hangs if the consumer stops early.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"
#include "engine/tensor.h"

namespace wsol::data {

enum class PixelFormat { NormalizedFloat, UInt8 };

struct LoaderOptions {
    int64_t batch_size = 64;
    bool shuffle = false;
    bool drop_last = false;
    uint64_t seed = 0;
    int num_workers = 2;       // 0: decode on the calling thread, inside next()
    int prefetch_batches = 2;  // how many batches may be in flight ahead of the consumer
    int rank = 0;              // data-parallel shard
    int world_size = 1;
    TransformSpec transform;
    PixelFormat pixels = PixelFormat::NormalizedFloat;
    Normalization normalization;
    bool skip_bad_images = false;
    bool auxiliary_same_class = false;  // CSFN: also load a same-class partner per sample
};

struct Batch {
    int64_t epoch = 0;
    int64_t index = 0;  // batch number within the epoch (this rank's)
    int views = 1;      // 10 for TenCrop
    // (B, 3, H, W), or (B, 10, 3, H, W) for TenCrop; float32 normalised or uint8.
    Tensor images;
    Tensor labels;                 // (B,) int64
    std::vector<int64_t> indices;  // dataset index of each sample
    std::vector<std::string> image_ids;
    std::vector<int> widths, heights;              // each image's size in its file (what boxes_original refer to)
    std::vector<std::vector<Box>> boxes_original;  // per sample, original pixels
    std::vector<std::vector<Box>> boxes;           // per sample and view: boxes[b * views + v], view pixels
    // CSFN's auxiliary images (auxiliary_same_class): same layout and labels as `images`.
    Tensor aux_images;
    std::vector<int64_t> aux_indices;

    int64_t size() const { return int64_t(indices.size()); }
};

// The dataset indices of every batch of one epoch for one rank (the plan above).
std::vector<std::vector<int64_t>> epoch_batches(int64_t dataset_size, const LoaderOptions& options, int64_t epoch);

class DataLoader {
public:
    DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);
    ~DataLoader();
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    int64_t batches_per_epoch() const;
    // Begins (or resumes) an epoch at batch `first_batch`; stops any epoch in progress.
    void start_epoch(int64_t epoch, int64_t first_batch = 0);
    // The next batch of the current epoch, or nullopt when it is over.
    std::optional<Batch> next();
    // Samples dropped by skip_bad_images so far, in batch order.
    const std::vector<SkippedInput>& skipped() const;
    const LoaderOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace wsol::data
