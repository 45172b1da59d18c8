// futura/detail/large_block.hpp: the per-call blocks of a gather or an as_completed over a
// million futures, recycled.
//
// A gather over 1M futures needs ~48 MB of child nodes for the length of the call. glibc
// serves a block that size with a fresh mmap and unmaps it when it is freed, so every such
// call faults ~12,000 zeroed pages back in, which cost more than the gather itself. Like
// Asio's recycling allocator for handlers, each thread keeps the last large blocks it
// freed (four, the most one call holds at once, up to a bound in all) for the next large
// allocations.
#ifndef FUTURA_DETAIL_LARGE_BLOCK_HPP
#define FUTURA_DETAIL_LARGE_BLOCK_HPP

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace futura::detail {

/// Blocks from this size up are recycled; smaller ones go straight to operator new.
inline constexpr std::size_t large_block_min = std::size_t{1} << 20;
/// The most a thread keeps for reuse, in all.
inline constexpr std::size_t large_block_max_kept = std::size_t{256} << 20;

/// At least `bytes`, aligned for any object (alignof(std::max_align_t)); throws bad_alloc.
void* allocate_large(std::size_t bytes);
/// Gives back a block of allocate_large (its size is recorded with it).
void deallocate_large(void* p) noexcept;
/// What this thread keeps for reuse, in bytes.
std::size_t large_block_bytes_kept() noexcept;
/// Frees what this thread keeps (a thread done with its huge calls can give it back).
void release_kept_large_blocks() noexcept;

/// A standard allocator over allocate_large, for the per-call vectors of a wait or an
/// as_completed (the distinct futures, the indices done at the call).
template <class T>
struct large_allocator {
  using value_type = T;
  large_allocator() noexcept = default;
  template <class U>
  large_allocator(large_allocator<U> const&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_large(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { deallocate_large(p); }
  template <class U>
  bool operator==(large_allocator<U> const&) const noexcept {
    return true;
  }
};

/// `n` value-initialized T (zeroed for scalars) in a large block: what make_unique<T[]>(n)
/// gives, recycled. T's default constructor must not throw.
template <class T>
class large_array {
  static_assert(std::is_nothrow_default_constructible_v<T> &&
                alignof(T) <= alignof(std::max_align_t));

 public:
  large_array() noexcept = default;
  explicit large_array(std::size_t n)
      : p_(n ? static_cast<T*>(allocate_large(n * sizeof(T))) : nullptr), n_(n) {
    std::uninitialized_value_construct_n(p_, n_);
  }
  /// Room for `n` T, not constructed (the owner constructs what it uses): a capacity that
  /// is only an upper bound then costs no page it does not touch. T must be trivially
  /// destructible, since nothing tracks which elements were constructed.
  static large_array uninitialized(std::size_t n) requires std::is_trivially_destructible_v<T> {
    large_array a;
    a.p_ = n ? static_cast<T*>(allocate_large(n * sizeof(T))) : nullptr;
    a.n_ = n;
    return a;
  }
  large_array(large_array&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  large_array& operator=(large_array&& o) noexcept {
    large_array(std::move(o)).swap(*this);
    return *this;
  }
  ~large_array() {
    std::destroy_n(p_, n_);
    deallocate_large(p_);
  }
  void swap(large_array& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
  }
  T* get() const noexcept { return p_; }
  T& operator[](std::size_t i) const noexcept { return p_[i]; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace futura::detail

#endif
