// The threaded loader (see loader.h for the guarantees). One job is one sample: workers claim the
// samples of the next batches in order, decode and augment them straight into the batch tensors,
// and the consumer takes whole batches in order. A batch's memory is allocated when its first sample
// is claimed; at most `prefetch_batches` batches ahead of the consumer are ever claimed.
#include "data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "data/sampling.h"
#include "engine/error.h"

namespace wsol::data {

std::vector<std::vector<int64_t>> epoch_batches(int64_t n, const LoaderOptions& o, int64_t epoch) {
    WSOL_CHECK(o.batch_size >= 1, "DataLoader: batch_size ", o.batch_size, " must be positive");
    WSOL_CHECK(o.world_size >= 1 && o.rank >= 0 && o.rank < o.world_size, "DataLoader: rank ", o.rank, " is not in 0..",
               o.world_size - 1, " (world size ", o.world_size, ")");
    WSOL_CHECK(epoch >= 0, "DataLoader: negative epoch ", epoch);
    std::vector<int64_t> order(static_cast<size_t>(n));
    if (o.shuffle) {
        order = epoch_permutation(n, o.seed, uint64_t(epoch));
    } else {
        std::iota(order.begin(), order.end(), 0);
    }
    std::vector<int64_t> mine;
    if (o.world_size == 1) {
        mine = std::move(order);
    } else if (n > 0) {
        // DistributedSampler: pad by wrapping around so every rank gets the same count.
        const int64_t per_rank = (n + o.world_size - 1) / o.world_size;
        for (int64_t k = 0; k < per_rank; ++k) mine.push_back(order[size_t((o.rank + k * o.world_size) % n)]);
    }
    std::vector<std::vector<int64_t>> batches;
    for (size_t start = 0; start < mine.size(); start += size_t(o.batch_size)) {
        const size_t end = std::min(mine.size(), start + size_t(o.batch_size));
        if (o.drop_last && end - start < size_t(o.batch_size)) break;
        batches.emplace_back(mine.begin() + std::ptrdiff_t(start), mine.begin() + std::ptrdiff_t(end));
    }
    return batches;
}

namespace {

struct Pending {
    Batch batch;
    std::vector<std::string> slot_error;  // non-empty: that sample failed
    size_t remaining = 0;                 // samples not finished yet
};

struct Loaded {
    std::vector<std::vector<Box>> boxes;  // per view
    int width = 0, height = 0;            // the image's size in its file
};

// Decodes and transforms one record into slot `slot` of `images`.
Loaded load_into(const Record& r, const TransformSpec& spec, const Augmentation& a, PixelFormat pixels,
                 const Normalizer& norm, const Tensor& images, int64_t slot) {
    DecodeOptions decode;
    decode.dct_downscale = spec.dct_downscale;
    decode.target_width = spec.resize_width;
    decode.target_height = spec.resize_height;
    const DecodedImage img = load_image(r.path, decode);
    WSOL_CHECK(r.width == 0 || r.height == 0 || (r.width == img.source_width && r.height == img.source_height), r.path,
               ": the image is ", img.source_width, "x", img.source_height, " but its list file says ", r.width, "x",
               r.height);
    std::vector<View> views = apply_transform(img, r.boxes, spec, a);
    const size_t plane = size_t(spec.out_width()) * size_t(spec.out_height()) * 3;
    for (size_t v = 0; v < views.size(); ++v) {
        const size_t at = (size_t(slot) * views.size() + v) * plane;
        if (pixels == PixelFormat::NormalizedFloat) {
            norm.write(views[v].image, views[v].flip, images.data<float>() + at);
        } else {
            write_chw_uint8(views[v].image, views[v].flip, images.data<uint8_t>() + at);
        }
    }
    Loaded out;
    for (View& v : views) out.boxes.push_back(std::move(v.boxes));
    out.width = img.source_width;
    out.height = img.source_height;
    return out;
}

// Moves the samples that did not fail to the front of every per-sample array.
void compact(Pending& p, int views) {
    std::vector<size_t> keep;
    for (size_t s = 0; s < p.slot_error.size(); ++s)
        if (p.slot_error[s].empty()) keep.push_back(s);
    if (keep.size() == p.slot_error.size()) return;
    Batch& b = p.batch;
    auto shrink = [&](Tensor& t) {
        if (!t.defined()) return;
        const size_t per = size_t(t.numel() / std::max<int64_t>(t.size(0), 1)) * t.element_size();
        auto* base = static_cast<char*>(t.raw_data());
        for (size_t k = 0; k < keep.size(); ++k)
            if (keep[k] != k) std::memmove(base + k * per, base + keep[k] * per, per);
        Shape shape = t.shape();
        shape[0] = int64_t(keep.size());
        t = t.as_strided(shape, t.strides(), t.offset());
    };
    shrink(b.images);
    shrink(b.labels);
    shrink(b.aux_images);
    auto pick = [&](auto& v, size_t group) {
        std::remove_reference_t<decltype(v)> out;
        for (size_t k : keep)
            for (size_t g = 0; g < group; ++g) out.push_back(std::move(v[k * group + g]));
        v = std::move(out);
    };
    pick(b.indices, 1);
    pick(b.image_ids, 1);
    pick(b.widths, 1);
    pick(b.heights, 1);
    pick(b.boxes_original, 1);
    pick(b.boxes, size_t(views));
    if (!b.aux_indices.empty()) pick(b.aux_indices, 1);
}

}  // namespace

struct DataLoader::Impl {
    std::shared_ptr<const Dataset> ds;
    LoaderOptions o;
    Normalizer norm;
    std::unique_ptr<SameClassSampler> aux;
    std::vector<SkippedInput> skipped;

    // The current epoch. Guarded by `m` except `plan`, which is fixed while workers run.
    int64_t epoch = -1;
    std::vector<std::vector<int64_t>> plan;
    std::mutex m;
    std::condition_variable cv_work, cv_ready;
    std::map<int64_t, Pending> pending;
    int64_t next_batch = 0;   // the consumer's next batch
    int64_t claim_batch = 0;  // the next sample to claim: (claim_batch, claim_slot)
    size_t claim_slot = 0;
    int in_flight = 0;
    bool stopping = false, failed = false;
    std::string fatal;           // once set, next() keeps throwing it until start_epoch
    std::string worker_failure;  // a failure outside any sample (allocation)
    std::vector<std::thread> workers;

    Impl(std::shared_ptr<const Dataset> d, LoaderOptions opts)
        : ds(std::move(d)), o(std::move(opts)), norm(o.normalization) {}

    Shape image_shape(int64_t n) const {
        const int64_t h = o.transform.out_height(), w = o.transform.out_width();
        return o.transform.views() == 1 ? Shape{n, 3, h, w} : Shape{n, int64_t(o.transform.views()), 3, h, w};
    }

    // Called with `m` held.
    Pending& allocate(int64_t b) {
        Pending& p = pending[b];
        const std::vector<int64_t>& members = plan[size_t(b)];
        const int64_t n = int64_t(members.size());
        const size_t views = size_t(o.transform.views());
        const DType dtype = o.pixels == PixelFormat::NormalizedFloat ? kFloat32 : kUInt8;
        Batch& batch = p.batch;
        batch.epoch = epoch;
        batch.index = b;
        batch.views = int(views);
        batch.images = Tensor::empty(image_shape(n), dtype);
        batch.labels = Tensor::empty({n}, kInt64);
        batch.indices = members;
        batch.image_ids.resize(size_t(n));
        batch.widths.resize(size_t(n));
        batch.heights.resize(size_t(n));
        batch.boxes_original.resize(size_t(n));
        batch.boxes.resize(size_t(n) * views);
        if (o.auxiliary_same_class) {
            batch.aux_images = Tensor::empty(image_shape(n), dtype);
            batch.aux_indices.resize(size_t(n));
        }
        p.slot_error.resize(size_t(n));
        p.remaining = size_t(n);
        return p;
    }

    // Decodes and augments sample `slot` of `batch` (no lock needed: every slot owns its memory).
    void load_sample(Batch& batch, size_t slot) {
        const int64_t index = batch.indices[slot];
        const Record& r = ds->records[size_t(index)];
        const uint64_t e = uint64_t(epoch);
        const Augmentation a =
            draw_augmentation(o.transform, sample_random(o.seed, e, uint64_t(index), RandomStream::Augment));
        Loaded loaded = load_into(r, o.transform, a, o.pixels, norm, batch.images, int64_t(slot));
        batch.labels.data<int64_t>()[slot] = r.label;
        batch.image_ids[slot] = r.image_id;
        batch.widths[slot] = loaded.width;
        batch.heights[slot] = loaded.height;
        batch.boxes_original[slot] = r.boxes;
        const size_t views = loaded.boxes.size();
        for (size_t v = 0; v < views; ++v) batch.boxes[slot * views + v] = std::move(loaded.boxes[v]);
        if (aux) {
            const int64_t partner = aux->pick(index, o.seed, e);
            const Augmentation pa = draw_augmentation(
                o.transform, sample_random(o.seed, e, uint64_t(index), RandomStream::AuxiliaryAugment));
            load_into(ds->records[size_t(partner)], o.transform, pa, o.pixels, norm, batch.aux_images, int64_t(slot));
            batch.aux_indices[slot] = partner;
        }
    }

    std::string describe(int64_t b, size_t slot, const std::string& what) const {
        return "DataLoader: epoch " + std::to_string(epoch) + ", batch " + std::to_string(b) + ", sample " +
               std::to_string(slot) + " (dataset index " + std::to_string(plan[size_t(b)][slot]) + "): " + what;
    }

    // Runs one sample, turning any exception into the slot's error text.
    std::string run_sample(Batch& batch, int64_t b, size_t slot) {
        try {
            load_sample(batch, slot);
            return "";
        } catch (const std::exception& e) {
            return describe(b, slot, e.what());
        } catch (...) {
            return describe(b, slot, "unknown exception");
        }
    }

    void worker_loop() {
        std::unique_lock<std::mutex> lock(m);
        while (true) {
            cv_work.wait(lock, [&] {
                return stopping || failed || claim_batch >= int64_t(plan.size()) ||
                       claim_batch < next_batch + o.prefetch_batches;
            });
            if (stopping || failed || claim_batch >= int64_t(plan.size())) return;
            const int64_t b = claim_batch;
            const size_t slot = claim_slot;
            auto it = pending.find(b);
            if (it == pending.end()) {
                try {
                    allocate(b);
                    it = pending.find(b);
                } catch (const std::exception& e) {  // e.g. out of memory: fail the loader, not the process
                    pending.erase(b);
                    worker_failure = "DataLoader: cannot allocate batch " + std::to_string(b) + ": " + e.what();
                    failed = true;
                    cv_ready.notify_all();
                    cv_work.notify_all();
                    return;
                }
            }
            Pending& p = it->second;
            if (++claim_slot == plan[size_t(b)].size()) ++claim_batch, claim_slot = 0;
            ++in_flight;
            lock.unlock();
            std::string error = run_sample(p.batch, b, slot);
            lock.lock();
            --in_flight;
            if (!error.empty()) {
                p.slot_error[slot] = std::move(error);
                if (!o.skip_bad_images) failed = true;
            }
            --p.remaining;
            cv_ready.notify_all();
            if (failed) cv_work.notify_all();
        }
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(m);
            stopping = true;
        }
        cv_work.notify_all();
        for (std::thread& t : workers) t.join();
        workers.clear();
    }

    // The first failed sample of a batch, in slot order.
    static const std::string* first_error(const Pending& p) {
        for (const std::string& e : p.slot_error)
            if (!e.empty()) return &e;
        return nullptr;
    }

    // Batch `next_batch` once all its samples are done. After a failure, the batches before the
    // failed sample still complete (their samples were claimed first); the batch holding it never
    // will, and its first error (in slot order, once no sample is in flight) is thrown.
    Pending take_next_threaded() {
        std::unique_lock<std::mutex> lock(m);
        auto complete = [&] {
            const auto it = pending.find(next_batch);
            return it != pending.end() && it->second.remaining == 0;
        };
        cv_ready.wait(lock, [&] { return complete() || (failed && in_flight == 0); });
        if (!complete()) {
            const auto it = pending.find(next_batch);
            const std::string* error = it != pending.end() ? first_error(it->second) : nullptr;
            fatal = error ? *error : worker_failure.empty() ? "DataLoader: a worker failed" : worker_failure;
            lock.unlock();
            stop_workers();
            WSOL_FAIL(fatal);
        }
        auto it = pending.find(next_batch);
        Pending p = std::move(it->second);
        pending.erase(it);
        ++next_batch;
        lock.unlock();
        cv_work.notify_all();
        return p;
    }

    Pending take_next_inline() {
        Pending& p = allocate(next_batch);
        for (size_t slot = 0; slot < p.slot_error.size(); ++slot) {
            p.slot_error[slot] = run_sample(p.batch, next_batch, slot);
            if (!p.slot_error[slot].empty() && !o.skip_bad_images) break;
        }
        p.remaining = 0;
        Pending out = std::move(p);
        pending.erase(next_batch);
        ++next_batch;
        return out;
    }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : impl_(std::make_unique<Impl>(std::move(dataset), std::move(options))) {
    const LoaderOptions& o = impl_->o;
    WSOL_CHECK(impl_->ds != nullptr, "DataLoader: no dataset");
    WSOL_CHECK(o.num_workers >= 0 && o.num_workers <= 256, "DataLoader: num_workers ", o.num_workers,
               " outside 0..256");
    WSOL_CHECK(o.prefetch_batches >= 1, "DataLoader: prefetch_batches ", o.prefetch_batches, " must be >= 1");
    o.transform.validate();
    epoch_batches(0, o, 0);  // validates batch size, rank and world size
    for (int64_t i = 0; i < impl_->ds->size(); ++i) {
        const Record& r = impl_->ds->records[size_t(i)];
        WSOL_CHECK(r.label >= 0, "DataLoader: record ", i, " (", r.image_id, ") of ", impl_->ds->name, " has no label");
    }
    if (o.auxiliary_same_class) impl_->aux = std::make_unique<SameClassSampler>(*impl_->ds);
}

DataLoader::~DataLoader() {
    impl_->stop_workers();
}

int64_t DataLoader::batches_per_epoch() const {
    const LoaderOptions& o = impl_->o;
    const int64_t n = impl_->ds->size();
    const int64_t mine = o.world_size == 1 ? n : (n > 0 ? (n + o.world_size - 1) / o.world_size : 0);
    return o.drop_last ? mine / o.batch_size : (mine + o.batch_size - 1) / o.batch_size;
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
    Impl& s = *impl_;
    s.stop_workers();
    s.pending.clear();
    s.plan = epoch_batches(s.ds->size(), s.o, epoch);
    WSOL_CHECK(first_batch >= 0 && first_batch <= int64_t(s.plan.size()), "DataLoader::start_epoch: first batch ",
               first_batch, " outside 0..", s.plan.size(), " for epoch ", epoch);
    s.epoch = epoch;
    s.next_batch = s.claim_batch = first_batch;
    s.claim_slot = 0;
    s.in_flight = 0;
    s.stopping = s.failed = false;
    s.fatal.clear();
    s.worker_failure.clear();
    for (int k = 0; k < s.o.num_workers; ++k) s.workers.emplace_back([&s] { s.worker_loop(); });
}

std::optional<Batch> DataLoader::next() {
    Impl& s = *impl_;
    WSOL_CHECK(s.epoch >= 0, "DataLoader::next: call start_epoch first");
    if (!s.fatal.empty()) WSOL_FAIL(s.fatal);
    while (s.next_batch < int64_t(s.plan.size())) {
        Pending p = s.o.num_workers == 0 ? s.take_next_inline() : s.take_next_threaded();
        if (!s.o.skip_bad_images) {
            if (const std::string* error = Impl::first_error(p)) {
                s.fatal = *error;
                s.stop_workers();
                WSOL_FAIL(s.fatal);
            }
        }
        for (size_t slot = 0; slot < p.slot_error.size(); ++slot) {
            if (p.slot_error[slot].empty()) continue;
            const Record& r = s.ds->records[size_t(p.batch.indices[slot])];
            s.skipped.push_back(SkippedInput{r.path, p.slot_error[slot]});
        }
        compact(p, s.o.transform.views());
        if (p.batch.size() > 0) return std::move(p.batch);
    }
    return std::nullopt;
}

const std::vector<SkippedInput>& DataLoader::skipped() const {
    return impl_->skipped;
}
const LoaderOptions& DataLoader::options() const {
    return impl_->o;
}

}  // namespace wsol::data
