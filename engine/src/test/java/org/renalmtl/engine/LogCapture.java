package org.renalmtl.engine;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects what one logger receives while open. The tests run SLF4J over java.util.logging (the
 * slf4j-jdk14 test dependency, the CLI's backend), so a JUL handler sees the engine's SLF4J calls.
 */
public final class LogCapture extends Handler implements AutoCloseable {
    /** Held strongly: JUL keeps loggers only weakly, and a collected one would lose the handler. */
    private final Logger logger;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    /** @param source the class whose logger to listen to */
    public LogCapture(Class<?> source) {
        logger = Logger.getLogger(source.getName());
        logger.addHandler(this);
    }

    /** @return the records so far */
    public List<LogRecord> records() {
        return List.copyOf(records);
    }

    @Override
    public void publish(LogRecord r) {
        records.add(r);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
