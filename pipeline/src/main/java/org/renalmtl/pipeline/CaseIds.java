package org.renalmtl.pipeline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The check of a cohort's case ids, shared by the single-machine case list and the Spark job's manifest: every id
 * non-empty, one line long and unique, since results keyed on a broken id could not be resumed or joined. Every
 * problem is listed (at most ten, then a count), so that a list is fixed in one go.
 */
public final class CaseIds {
    private static final int LISTED = 10;

    private CaseIds() {
    }

    /**
     * @param source the list's file, for the message
     * @param ids    the case ids, in list order
     * @param where  a row's place in the file, e.g. {@code line 4}
     * @return the error message (one line per problem), or null when every id is good
     */
    public static String check(String source, List<String> ids, IntFunction<String> where) {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> first = new HashMap<>();
        for (int r = 0; r < ids.size(); r++) {
            String v = ids.get(r);
            Integer before = first.putIfAbsent(v, r);
            String problem = v.isEmpty() ? "is empty" : v.chars().anyMatch(Character::isISOControl)
                    ? "holds a control character (line break, tab, ...)"
                    : before != null ? "is a duplicate (first on " + where.apply(before) + ")" : null;
            if (problem != null) {
                problems.add(where.apply(r) + ": case_id '" + v.replaceAll("\\p{Cntrl}", "?") + "' " + problem);
            }
        }
        if (problems.isEmpty()) {
            return null;
        }
        if (problems.size() == 1) {
            return source + " " + problems.getFirst();
        }
        StringBuilder msg = new StringBuilder(source + ": " + problems.size() + " bad case id(s); nothing was run");
        problems.stream().limit(LISTED).forEach(p -> msg.append("\n  ").append(p));
        if (problems.size() > LISTED) {
            msg.append("\n  ... and ").append(problems.size() - LISTED).append(" more");
        }
        return msg.toString();
    }
}
