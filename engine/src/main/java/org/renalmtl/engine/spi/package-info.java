/**
 * The engine's service-provider interface: optional compute backends shipped as separate artifacts
 * ({@code org.renalmtl:engine-cuda}) and found with {@link java.util.ServiceLoader}. Applications do
 * not call it; they pick a {@link org.renalmtl.engine.Device} and put the backend's artifact on the
 * class path.
 */
package org.renalmtl.engine.spi;
