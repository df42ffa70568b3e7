// Whether this build runs under a sanitizer. ASan keeps freed memory in a quarantine and maps
// shadow memory, TSan its own shadow: an RSS figure measured there says nothing about the
// proxy, so tests that bound RSS assert it only in plain builds (their counts still hold).
#pragma once

namespace faultline::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace faultline::test
