package org.renalmtl.weights.hdf5;

import static org.bytedeco.hdf5.global.hdf5.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bytedeco.hdf5.H5G_info_t;
import org.bytedeco.hdf5.H5L_info2_t;
import org.bytedeco.hdf5.H5O_info2_t;
import org.bytedeco.hdf5.H5O_token_t;

/**
 * Lists a file's datasets by walking its groups through hard links only, from metadata alone. Soft
 * and external links are reported, never followed (an external link to the file itself recursed
 * until the stack overflowed; a soft link to the root looped until memory ran out); every object
 * must be reached exactly once, so a hard-link cycle or a second name for one dataset is reported
 * too. Depth and link count are bounded so a crafted file cannot make the walk itself unbounded.
 */
final class StructureWalker {
    /** Group nesting below the root: the format uses none; a little allows reporting strays by path. */
    static final int MAX_DEPTH = 8;
    /** Links in the whole file: a model has at most a few hundred thousand tensors (FORMAT.md limits). */
    static final long MAX_LINKS = 1 << 20;

    private final List<String> datasets = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final Set<String> visited = new HashSet<>();
    private long links;

    private StructureWalker() {}

    /** Caller holds the HDF5 lock. */
    static Hdf5File.Structure walk(long fileId) {
        StructureWalker w = new StructureWalker();
        try (H5O_info2_t root = new H5O_info2_t()) {
            if (H5Oget_info3(fileId, root, H5O_INFO_BASIC) < 0) {
                w.problems.add("unreadable root group");
            } else {
                w.visited.add(key(root.token()));
                w.group(fileId, "", 0);
            }
        }
        w.datasets.sort(null);
        return new Hdf5File.Structure(List.copyOf(w.datasets), List.copyOf(w.problems));
    }

    private void group(long groupId, String prefix, int depth) {
        long n;
        try (H5G_info_t info = new H5G_info_t()) {
            if (H5Gget_info(groupId, info) < 0) {
                problems.add("cannot list group '" + prefix + "'");
                return;
            }
            n = info.nlinks();
        }
        if (n < 0 || n > MAX_LINKS - links) {
            problems.add("more than " + MAX_LINKS + " links in the file");
            links = MAX_LINKS;
            return;
        }
        links += n;
        for (long i = 0; i < n; i++) {
            String name = linkName(groupId, i);
            if (name == null) {
                problems.add("cannot read link " + i + " of group '" + prefix + "'");
                continue;
            }
            String path = prefix + name;
            try (H5L_info2_t link = new H5L_info2_t()) {
                if (H5Lget_info_by_idx2(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, link, H5P_DEFAULT()) < 0) {
                    problems.add("cannot read link '" + path + "'");
                    continue;
                }
                int type = link.type();
                if (type == H5L_TYPE_SOFT) {
                    problems.add("'" + path + "' is a soft link (not followed: only plain datasets are read)");
                    continue;
                } else if (type == H5L_TYPE_EXTERNAL) {
                    problems.add("'" + path + "' is an external link to another file (not followed)");
                    continue;
                } else if (type != H5L_TYPE_HARD) {
                    problems.add("'" + path + "' is a user-defined link (not followed)");
                    continue;
                }
            }
            object(groupId, i, path, depth);
        }
    }

    private void object(long groupId, long i, String path, int depth) {
        int type;
        try (H5O_info2_t info = new H5O_info2_t()) {
            if (H5Oget_info_by_idx3(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, info, H5O_INFO_BASIC,
                    H5P_DEFAULT()) < 0) {
                problems.add("cannot read object '" + path + "'");
                return;
            }
            if (!visited.add(key(info.token()))) {
                problems.add("'" + path + "' is a second hard link to an object already seen (link cycle or alias)");
                return;
            }
            type = info.type();
        }
        if (type == H5O_TYPE_DATASET) {
            datasets.add(path);
        } else if (type == H5O_TYPE_GROUP) {
            if (depth >= MAX_DEPTH) {
                problems.add("group '" + path + "' is nested deeper than " + MAX_DEPTH + " levels");
                return;
            }
            long g = H5Oopen_by_idx(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT());
            if (g < 0) {
                problems.add("cannot open group '" + path + "'");
                return;
            }
            try {
                group(g, path + "/", depth + 1);
            } finally {
                H5Oclose(g);
            }
        } else {
            problems.add("'" + path + "' is neither a group nor a dataset");
        }
    }

    private static String linkName(long groupId, long i) {
        long len = H5Lget_name_by_idx(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, (byte[]) null, 0, H5P_DEFAULT());
        if (len < 0 || len > 65_535) {
            return null;
        }
        byte[] buf = new byte[(int) len + 1];
        if (H5Lget_name_by_idx(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, buf.length, H5P_DEFAULT()) != len) {
            return null;
        }
        return new String(buf, 0, (int) len, StandardCharsets.UTF_8);
    }

    /** The object's address in the file, as text: equal tokens are the same object. */
    private static String key(H5O_token_t token) {
        byte[] b = new byte[16]; // H5O_MAX_TOKEN_SIZE
        for (int k = 0; k < b.length; k++) {
            b[k] = token.__data(k);
        }
        return HexFormat.of().formatHex(b);
    }
}
