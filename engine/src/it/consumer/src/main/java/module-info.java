/** A user's module: needs only the engine (the Vector API module is the engine's optional dependency). */
module consumer {
    requires dev.vecnorm.engine;
}
