// CAF's message hand-off, told to ThreadSanitizer. Debian's libcaf is not instrumented: TSan
// sees neither the atomics with which a mailbox hands a message from the sender's thread to the
// receiver's, nor those with which a spawned actor starts on another thread. Every read of a
// message's content, or of what an actor's function captured, would look like a race with the
// thread that wrote it. CAF promises that what an actor did before sending a message happens
// before the receiver's handler of it; these calls say exactly that to TSan (one token per
// receiving actor), and compile to nothing in every other build:
// - message_to(receiver, xs...) builds what a send, reply or delivery carries and releases it;
//   sent(receiver) alone before a request, whose content (atoms, numbers) only CAF reads;
// - received(self) first thing in every handler, and in a request's response handler;
// - spawning() right before a spawn, started() first thing in the spawned actor's function.
// Races that these do not hide are quorum's own: threads and objects shared outside messages
// (the router's thread, the worker's socket loop, the store, the mailboxes of bus/mailbox.h).
#pragma once

#include <caf/all.hpp>

#include "runtime/common/sanitizers.h"

#ifdef QUORUM_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace quorum::actors::handoff {

#ifdef QUORUM_TSAN
namespace detail {
// One byte per actor id (modulo the table): a collision only orders two actors' messages more
// than CAF does, never less.
inline char tokens[1024];
inline char spawn_token;
inline void* token(caf::actor_id id) { return &tokens[id % sizeof tokens]; }
}  // namespace detail

inline void sent(const caf::actor& receiver) {
  if (receiver) __tsan_release(detail::token(receiver.id()));
}
inline void sent(const caf::strong_actor_ptr& receiver) {
  if (receiver) __tsan_release(detail::token(receiver->id()));
}
inline void received(caf::actor_id self) { __tsan_acquire(detail::token(self)); }
inline void spawning() { __tsan_release(&detail::spawn_token); }
inline void started() { __tsan_acquire(&detail::spawn_token); }
#else
inline void sent(const caf::actor&) {}
inline void sent(const caf::strong_actor_ptr&) {}
inline void received(caf::actor_id) {}
inline void spawning() {}
inline void started() {}
#endif

// The message of xs, built now and then released to receiver: its content is written before
// the release, so the receiver's handler reads it after its acquire. CAF sends a caf::message
// given alone as its elements. For every send, reply and delivery that carries data.
template <typename Receiver, typename... Ts>
caf::message message_to(const Receiver& receiver, Ts&&... xs) {
  auto message = caf::make_message(std::forward<Ts>(xs)...);
  sent(receiver);
  return message;
}

}  // namespace quorum::actors::handoff
