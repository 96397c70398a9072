import CHDF5
import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// Read-only access to an HDF5 file through libhdf5. Only the calls Keras files
/// need: groups, string attributes and float datasets.
final class HDF5File {
    let path: String
    let root: HDF5Group
    private let id: hid_t

    init(path: String) throws {
        self.path = path
        h5l_silence_errors()
        guard H5Fis_hdf5(path) > 0 else {
            throw H5ToLiteError(file: path, "not an HDF5 file")
        }
        let id = H5Fopen(path, h5l_acc_rdonly(), h5l_p_default())
        guard id >= 0 else { throw H5ToLiteError(file: path, "cannot open as HDF5 (truncated or damaged)") }
        self.id = id
        guard let root = HDF5Group(id: H5Gopen2(id, "/", h5l_p_default()), path: "/", file: path) else {
            H5Fclose(id)
            throw H5ToLiteError(file: path, "cannot open the root group")
        }
        self.root = root
    }

    deinit {
        H5Fclose(id)
    }
}

final class HDF5Group {
    let id: hid_t
    let path: String
    let file: String

    init?(id: hid_t, path: String, file: String) {
        guard id >= 0 else { return nil }
        self.id = id
        self.path = path
        self.file = file
    }

    deinit {
        H5Gclose(id)
    }

    private func error(_ message: String) -> H5ToLiteError {
        H5ToLiteError(file: file, location: "HDF5 \(path)", message)
    }

    func has(_ name: String) -> Bool {
        // H5Lexists fails on a multi-level path whose middle is missing, so walk it.
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/\(part)"
            guard H5Lexists(id, prefix, h5l_p_default()) > 0 else { return false }
        }
        return !prefix.isEmpty
    }

    func group(_ name: String) throws -> HDF5Group {
        guard has(name), let group = HDF5Group(id: H5Gopen2(id, name, h5l_p_default()), path: join(name), file: file) else {
            throw error("missing group '\(name)'")
        }
        return group
    }

    func dataset(_ name: String) throws -> HDF5Dataset {
        guard has(name) else { throw error("missing dataset '\(name)'") }
        let datasetID = H5Dopen2(id, name, h5l_p_default())
        guard datasetID >= 0 else { throw error("'\(name)' is not a dataset") }
        return HDF5Dataset(id: datasetID, path: join(name), file: file)
    }

    /// Names of the links in this group, in name order.
    func childNames() throws -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { throw error("cannot list the group") }
        return try (0..<info.nlinks).map { index in
            let length = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, h5l_p_default())
            guard length >= 0, length < 65536 else { throw error("cannot read link name \(index)") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, h5l_p_default())
            return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// A string attribute, or nil when absent. Arrays of one string are accepted.
    func stringAttribute(_ name: String) throws -> String? {
        guard let strings = try stringsAttribute(name) else { return nil }
        guard strings.count == 1 else { throw error("attribute '\(name)' holds \(strings.count) strings, expected one") }
        return strings[0]
    }

    /// An attribute holding strings (fixed or variable length, scalar or 1-D), or nil when absent.
    func stringsAttribute(_ name: String) throws -> [String]? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let attribute = H5Aopen(id, name, h5l_p_default())
        guard attribute >= 0 else { throw error("cannot open attribute '\(name)'") }
        defer { H5Aclose(attribute) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = H5Sget_simple_extent_npoints(space)
        guard count >= 0, count < 10_000_000 else { throw error("attribute '\(name)' has a bad size") }
        let fileType = H5Aget_type(attribute)
        defer { H5Tclose(fileType) }
        guard H5Tget_class(fileType) == H5T_STRING else {
            if count == 0 { return [] }
            throw error("attribute '\(name)' is not a string")
        }
        return try readStrings(attribute: attribute, fileType: fileType, count: Int(count), name: name)
    }

    private func readStrings(attribute: hid_t, fileType: hid_t, count: Int, name: String) throws -> [String] {
        let memoryType = H5Tcopy(h5l_t_c_s1())
        defer { H5Tclose(memoryType) }
        if H5Tis_variable_str(fileType) > 0 {
            H5Tset_size(memoryType, h5l_t_variable())
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attribute, memoryType, &pointers) >= 0 else { throw error("cannot read attribute '\(name)'") }
            defer { for pointer in pointers { H5free_memory(pointer) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(fileType)
        guard size > 0, size * count < 1 << 30 else { throw error("attribute '\(name)' has a bad string size") }
        H5Tset_size(memoryType, size)
        var bytes = [UInt8](repeating: 0, count: size * count)
        guard H5Aread(attribute, memoryType, &bytes) >= 0 else { throw error("cannot read attribute '\(name)'") }
        return (0..<count).map { index in
            let slice = bytes[index * size..<(index + 1) * size]
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private func join(_ name: String) -> String {
        path == "/" ? "/\(name)" : "\(path)/\(name)"
    }
}

final class HDF5Dataset {
    let id: hid_t
    let path: String
    let file: String

    init(id: hid_t, path: String, file: String) {
        self.id = id
        self.path = path
        self.file = file
    }

    deinit {
        H5Dclose(id)
    }

    private func error(_ message: String) -> H5ToLiteError {
        H5ToLiteError(file: file, location: "HDF5 \(path)", message)
    }

    func shape() throws -> [Int] {
        let space = H5Dget_space(id)
        guard space >= 0 else { throw error("cannot read the dataspace") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 8 else { throw error("unsupported rank \(rank)") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        H5Sget_simple_extent_dims(space, &dims, nil)
        guard dims.allSatisfy({ $0 < 1 << 31 }) else { throw error("dimension too large") }
        return dims.map { Int($0) }
    }

    /// The dataset converted to float32 by libhdf5, whatever float type it is stored in.
    func readFloats() throws -> [Float] {
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_FLOAT || typeClass == H5T_INTEGER else {
            throw error("holds non-numeric data")
        }
        let count = elementCount(try shape())
        guard count < 1 << 31 else { throw error("too many elements") }
        var values = [Float](repeating: 0, count: count)
        guard count == 0 || H5Dread(id, h5l_t_native_float(), h5l_s_all(), h5l_s_all(), h5l_p_default(), &values) >= 0 else {
            throw error("cannot read the data")
        }
        return values
    }
}
