package dev.vecnorm;

/**
 * One reusable scratch object per thread for the tasks of a pass, so that a call in steady state allocates no
 * per-channel arrays: handed out while it is large enough, replaced by a larger one when a call needs it. A
 * thread whose object is in use (a task run inside another task's join) gets a fresh one, so an object never has
 * two users at once.
 */
final class PerThreadScratch<T extends PerThreadScratch.Sized> {

    /** A scratch object that knows whether it holds enough room for {@code groups} groups and {@code c} channels. */
    interface Sized {
        boolean fits(int groups, int c);
    }

    /** Makes a scratch object for {@code groups} groups and {@code c} channels. */
    interface Factory<T> {
        T make(int groups, int c);
    }

    private static final class Slot<T> {
        T value;
        boolean busy;
    }

    private final ThreadLocal<Slot<T>> own = ThreadLocal.withInitial(Slot::new);
    private final Factory<T> factory;

    PerThreadScratch(Factory<T> factory) {
        this.factory = factory;
    }

    /** This thread's object (or a fresh one if it is in use); give it back with {@link #release}. */
    T acquire(int groups, int c) {
        Slot<T> slot = own.get();
        if (slot.busy) {
            return factory.make(groups, c);
        }
        if (slot.value == null || !slot.value.fits(groups, c)) {
            slot.value = factory.make(groups, c);
        }
        slot.busy = true;
        return slot.value;
    }

    /** Ends the use of an object from {@link #acquire} on this thread. */
    void release(T value) {
        Slot<T> slot = own.get();
        if (slot.value == value) {
            slot.busy = false;
        }
    }
}
